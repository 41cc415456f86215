//! `import refresh-batch` on both databases: bad rows are all reported with
//! their line and nothing is applied; a clean file creates every ticket.

use deskbell::config::Calendars;
use deskbell::domain::TicketRef;
use deskbell::import::{self, ImportError};
use deskbell::store::Store;

use crate::both_databases;
use crate::support::{calendar, fixture, local};

both_databases!(
    a_broken_batch_applies_nothing_and_a_clean_one_everything,
    replacements_are_assigned_in_bulk_only_from_a_clean_file,
    appointments_are_moved_in_bulk_only_from_a_clean_file,
);

const HEADER: &str = "serial,platform,style,team,config,customer_name,customer_email,delegate_email,no_customer\n";

async fn a_broken_batch_applies_nothing_and_a_clean_one_everything(store: &Store) {
    fixture(store).await;
    let mut calendars = Calendars::default();
    calendars.insert(calendar());
    let workflow =
        crate::support::workflow(store, std::sync::Arc::new(deskbell::clock::SimClock::new(local(11, 2, 9, 0))));
    let broken = format!(
        "{HEADER}A1,windows,on_prem,NIT North,LSA 2026,Al,al@example.edu,,\n\
         A2,windows,on_prem,NIT North,LSA 2026,Bo,not-an-email,,\n\
         A3,windows,sideways,NIT North,LSA 2026,Cy,cy@example.edu,,\n\
         A4,windows,on_prem,NIT North,LSA 2026,,,,maybe\n"
    );
    let Err(ImportError::Rows(errors)) = import::refresh_batch(&workflow, &broken).await else {
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
    let created = import::refresh_batch(&workflow, &clean).await.unwrap();
    assert_eq!(created.len(), 3);
    assert!(created[1].delegate.is_some() && created[2].no_customer);
    let again = import::refresh_batch(&workflow, &clean).await.unwrap_err();
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
    let workflow = crate::support::workflow(store, std::sync::Arc::new(deskbell::clock::SimClock::new(now)));
    let created = import::refresh_batch(&workflow, &batch).await.unwrap();
    for t in &created[..2] {
        let address = (t.style == deskbell::domain::refresh::Style::RemoteCustomer).then(|| "1 Main St".to_owned());
        let walked = RefreshEvent::WizardCompleted {
            needs_approval: false,
            location: None,
            shipping_address: address,
            answers: None,
        };
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

async fn appointments_are_moved_in_bulk_only_from_a_clean_file(store: &Store) {
    use chrono::Duration;
    use deskbell::domain::Actor;
    use deskbell::domain::refresh::RefreshStatus;
    let f = fixture(store).await;
    let mut calendars = Calendars::default();
    calendars.insert(calendar());
    let now = local(11, 2, 9, 0);
    let workflow = crate::support::workflow(store, std::sync::Arc::new(deskbell::clock::SimClock::new(now)));
    let (tue, wed) = (local(11, 10, 9, 0), local(11, 11, 9, 0));
    store.add_slot(f.team, tue, tue + Duration::hours(1), 1).await.unwrap();
    store.add_slot(f.team, wed, wed + Duration::hours(1), 1).await.unwrap();
    let thu = local(11, 12, 9, 0);
    store.add_slot(f.team, thu, thu + Duration::hours(1), 1).await.unwrap();
    let slots = store.slots(f.team, tue, thu + Duration::days(1)).await.unwrap();
    let mut booked = Vec::new();
    for (serial, slot) in [("MOVE1", slots[0].id), ("MOVE2", slots[2].id)] {
        let t = workflow.create_refresh(crate::support::new_refresh(&f, serial), &Actor::System).await.unwrap();
        crate::support::offer_slots(&workflow, t.id, serial).await;
        booked.push(workflow.pick_slot(t.id, &Actor::System, slot).await.unwrap());
    }
    let (t, t2) = (&booked[0], &booked[1]);

    // Both rows check out, but the one-seat slot fills with the first: the
    // whole file is refused in its transaction and nothing moved.
    let crowded = format!("ticket,slot\n{},{}\n{},{}\n", t.reference(), slots[1].id, t2.reference(), slots[1].id);
    let Err(ImportError::Rows(errors)) = import::reschedules(&workflow, &crowded).await else { panic!("refused") };
    assert!(errors[0].starts_with("line 3: slot") && errors[0].contains("nothing changed"), "{errors:?}");
    assert_eq!(store.load_refresh(t.id).await.unwrap().value.slot, Some(slots[0].id), "the first row was not applied");
    assert_eq!(store.slot(slots[1].id).await.unwrap().booked, 0);

    let broken = format!("ticket,slot\n{},{}\nR-99,{}\nS-1,{}\n", t.reference(), slots[0].id, slots[1].id, slots[1].id);
    let Err(ImportError::Rows(errors)) = import::reschedules(&workflow, &broken).await else { panic!("refused") };
    assert_eq!(errors.len(), 3, "{errors:?}");
    assert!(errors[0].contains("is not a free slot"), "{errors:?}");
    assert!(errors[1].contains("R-99 does not exist"), "{errors:?}");
    assert!(errors[2].contains("is not a refresh ticket"), "{errors:?}");
    let clean = format!("ticket,slot\n{},{}\n", t.reference(), slots[1].id);
    let moved = import::reschedules(&workflow, &clean).await.unwrap();
    assert_eq!((moved[0].status, moved[0].slot), (RefreshStatus::DeliveryScheduled, Some(slots[1].id)));
    let templates: Vec<String> =
        store.outbox_of(t.reference()).await.unwrap().into_iter().map(|m| m.template).collect();
    assert!(
        templates.contains(&"reschedule_confirmation".to_owned())
            && templates.contains(&"update_appointment".to_owned())
    );
    assert_eq!(store.slot(slots[0].id).await.unwrap().booked, 0, "the old seat is free again");
}
