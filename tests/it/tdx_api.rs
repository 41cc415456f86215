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
    let client = TdxClient::new(&tdx.url, login);
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
    let err = TdxClient::new(&tdx.url, login).find_asset(40, "SN1").await.unwrap_err();
    assert!(matches!(err, SendError::Permanent(ref m) if m.contains("login refused")), "{err:?}");
}
