//! `import refresh-batch` on both databases: bad rows are all reported with
//! their line and nothing is applied; a clean file creates every ticket.

use deskbell::config::Calendars;
use deskbell::domain::TicketRef;
use deskbell::import::{self, ImportError};
use deskbell::store::{Routing, Store};

use crate::both_databases;
use crate::support::{calendar, fixture, local};

both_databases!(
    a_broken_batch_applies_nothing_and_a_clean_one_everything,
    replacements_are_assigned_in_bulk_only_from_a_clean_file,
);

const HEADER: &str = "serial,platform,style,team,config,customer_name,customer_email,delegate_email,no_customer\n";

async fn a_broken_batch_applies_nothing_and_a_clean_one_everything(store: &Store) {
    fixture(store).await;
    let mut calendars = Calendars::default();
    calendars.insert(calendar());
    let now = local(11, 2, 9, 0);
    let broken = format!(
        "{HEADER}A1,windows,on_prem,NIT North,LSA 2026,Al,al@example.edu,,\n\
         A2,windows,on_prem,NIT North,LSA 2026,Bo,not-an-email,,\n\
         A3,windows,sideways,NIT North,LSA 2026,Cy,cy@example.edu,,\n\
         A4,windows,on_prem,NIT North,LSA 2026,,,,maybe\n"
    );
    let Err(ImportError::Rows(errors)) =
        import::refresh_batch(store, &calendars, &Routing::default(), now, &broken).await
    else {
        panic!("a broken batch must be refused");
    };
    assert_eq!(errors.len(), 3, "{errors:?}");
    assert!(errors[0].starts_with("line 3: customer_email:"), "{errors:?}");
    assert!(errors[1].starts_with("line 4: style 'sideways' is not one of on_prem, remote_customer"), "{errors:?}");
    assert!(errors[2].starts_with("line 5: no_customer must be true or false"), "{errors:?}");
    assert_eq!(store.refresh_count().await.unwrap(), 0, "nothing of a broken batch is applied");

    let clean = format!(
        "{HEADER}A1,windows,on_prem,NIT North,LSA 2026,Al,al@example.edu,,\n\
         A2,mac,remote_customer,NIT North,LSA 2026,Bo,bo@example.edu,bo.assistant@example.edu,\n\
         A3,windows,on_prem,NIT North,LSA 2026,,,,true\n"
    );
    let created = import::refresh_batch(store, &calendars, &Routing::default(), now, &clean).await.unwrap();
    assert_eq!(created.len(), 3);
    assert!(created[1].delegate.is_some() && created[2].no_customer);
    let again = import::refresh_batch(store, &calendars, &Routing::default(), now, &clean).await.unwrap_err();
    assert!(again.to_string().contains("already has an open ticket"), "{again}");
    assert_eq!(store.refresh_count().await.unwrap(), 3);
    // The invite of the first ticket is set for the next business morning.
    let timers = store.timers_of(TicketRef::Refresh(created[0].id)).await.unwrap();
    assert_eq!(timers[0].due_at, local(11, 3, 10, 5));
}

async fn replacements_are_assigned_in_bulk_only_from_a_clean_file(store: &Store) {
    use deskbell::domain::Actor;
    use deskbell::domain::refresh::{RefreshEvent, RefreshStatus};
    fixture(store).await;
    let mut calendars = Calendars::default();
    calendars.insert(calendar());
    let now = local(11, 2, 9, 0);
    let batch = format!(
        "{HEADER}OLD1,windows,on_prem,NIT North,LSA 2026,Al,al@example.edu,,\n\
         OLD2,mac,remote_customer,NIT North,LSA 2026,Bo,bo@example.edu,,\n\
         OLD3,windows,on_prem,NIT North,LSA 2026,Cy,cy@example.edu,,\n"
    );
    let created = import::refresh_batch(store, &calendars, &Routing::default(), now, &batch).await.unwrap();
    let workflow = deskbell::workflow::Workflow {
        store: store.clone(),
        calendars: std::sync::Arc::new(calendars),
        cadence: std::sync::Arc::new(deskbell::domain::refresh::Cadence::default()),
        routing: Routing::default(),
        clock: std::sync::Arc::new(deskbell::clock::SimClock::new(now)),
    };
    for t in &created[..2] {
        let address = (t.style == deskbell::domain::refresh::Style::RemoteCustomer).then(|| "1 Main St".to_owned());
        let walked = RefreshEvent::WizardCompleted { needs_approval: false, location: None, shipping_address: address };
        workflow.refresh(t.id, &Actor::System, walked).await.unwrap();
    }
    let header = "existing_serial,replacement_serial,platform,model,tracking_number\n";
    let broken = format!(
        "{header}OLD1,NEW1,windows,Latitude 7450,\n\
         OLD2,NEW2,mac,MacBook Air,\n\
         OLD3,NEW3,windows,,\n\
         NOPE,NEW4,windows,,\n\
         OLD1,NEW5,amiga,,\n"
    );
    let Err(ImportError::Rows(errors)) = import::replacements(&workflow, &broken).await else {
        panic!("a broken file must be refused");
    };
    assert_eq!(errors.len(), 4, "{errors:?}");
    assert!(errors[0].starts_with("line 3: R-2 is an at-home refresh: tracking_number is required"), "{errors:?}");
    assert!(errors[1].starts_with("line 4: R-3 is pending_wizard, not pending_ordering"), "{errors:?}");
    assert!(errors[2].starts_with("line 5: no open ticket for serial NOPE"), "{errors:?}");
    assert!(errors[3].starts_with("line 6: platform 'amiga'"), "{errors:?}");
    assert_eq!(
        store.load_refresh(created[0].id).await.unwrap().value.status,
        RefreshStatus::PendingOrdering,
        "unchanged"
    );

    let clean = format!("{header}OLD1,NEW1,windows,Latitude 7450,\nOLD2,NEW2,mac,MacBook Air,1Z999\n");
    let done = import::replacements(&workflow, &clean).await.unwrap();
    assert!(done.iter().all(|t| t.status == RefreshStatus::PendingItsmExistence));
    assert_eq!(done[1].tracking_number.as_deref(), Some("1Z999"));
    let queued = store.outbox_of(created[0].reference()).await.unwrap();
    assert_eq!(queued.last().unwrap().template, "lookup_system", "the TDX lookup is queued");
}
