//! The TDX client against the fake TDX: both logins, JWT renewal after a
//! 401, and a refused login that is permanent.

use deskbell::channels::SendError;
use deskbell::itsm::{TdxClient, TdxLogin};
use secrecy::SecretString;
use serde_json::json;

use crate::support::fake_tdx::{self, FakeTdx};

#[tokio::test]
async fn a_user_account_signs_in_and_creates_a_ticket_with_tasks() {
    let tdx = FakeTdx::start().await;
    let login = TdxLogin::User { username: fake_tdx::USER.into(), password: SecretString::from(fake_tdx::PASSWORD) };
    let db = crate::support::sqlite().await;
    let client = TdxClient::new(&tdx.url, login, db.store.clone());
    let id =
        client.create_ticket(31, &json!({ "Title": "Refresh R-1" }), &[json!({ "Title": "Depot" })]).await.unwrap();
    assert_eq!(client.tasks(31, id).await.unwrap()[0].title, "Depot");
    assert_eq!(client.status(31, id).await.unwrap().status_class, 1);
    assert_eq!(tdx.logins(), 1, "the JWT is reused");
    assert_eq!(tdx.calls()[0], "POST auth/login", "a user signs in at /api/auth/login");
}

#[tokio::test]
async fn wrong_credentials_are_a_permanent_error() {
    let tdx = FakeTdx::start().await;
    let login = TdxLogin::Admin { beid: SecretString::from("wrong"), key: SecretString::from("wrong") };
    let db = crate::support::sqlite().await;
    let err = TdxClient::new(&tdx.url, login, db.store.clone()).find_asset(40, "SN1").await.unwrap_err();
    assert!(matches!(err, SendError::Permanent(ref m) if m.contains("login refused")), "{err:?}");
}

crate::both_databases!(two_replicas_share_the_sixty_calls_a_minute);

/// Two replicas' clients on one database: together they make TDX's 60 calls
/// in 60 seconds (logins included), and the 61st waits for the window.
async fn two_replicas_share_the_sixty_calls_a_minute(store: &deskbell::store::Store) {
    let tdx = FakeTdx::start().await;
    let login = || TdxLogin::Admin { beid: SecretString::from(fake_tdx::BEID), key: SecretString::from(fake_tdx::KEY) };
    let replicas = [TdxClient::new(&tdx.url, login(), store.clone()), TdxClient::new(&tdx.url, login(), store.clone())];
    let mut refused = None;
    for i in 0..200 {
        match replicas[i % 2].find_asset(40, "SN1").await {
            Ok(_) => {}
            Err(SendError::RateLimited { retry_after }) => {
                refused = Some(retry_after);
                break;
            }
            Err(e) => panic!("{e:?}"),
        }
    }
    let wait = refused.expect("the window fills");
    assert_eq!(tdx.calls().len(), 60, "60 calls between them, no more");
    assert!(wait > std::time::Duration::ZERO && wait <= std::time::Duration::from_secs(60), "{wait:?}");
    assert_eq!(replicas[0].calls_in_window().await, 60, "each replica sees the shared count");
}
