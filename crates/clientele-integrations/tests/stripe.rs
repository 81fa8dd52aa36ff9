//! The Stripe client against the local fake of Stripe, over real HTTP: the wire format (nested
//! form keys, pinned version, connected account, idempotency keys), pages, retries and errors.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use clientele_core::payments::api::{
    NewSetupIntent, NewStripeCustomer, STRIPE_API_VERSION, StripeApi, StripeApiError, StripeAuth,
};
use clientele_integrations::stripe::{HttpStripeApi, StripeClientOptions};
use clientele_integrations::testing::stripe::{ACCOUNT, FakeCard, FakeFailure, FakeStripe, SECRET_KEY};

fn client(fake: &FakeStripe, timeout: Duration) -> HttpStripeApi {
    HttpStripeApi::new(StripeClientOptions {
        base_url: fake.base_url.clone(),
        timeout,
        max_retries: 2,
        retry_delay: Duration::from_millis(5),
    })
    .unwrap()
}

fn auth(account: Option<&str>) -> StripeAuth {
    StripeAuth { secret_key: SECRET_KEY.into(), account: account.map(str::to_owned) }
}

fn new_customer() -> NewStripeCustomer {
    NewStripeCustomer {
        name: Some("Nicolò Rossi".into()),
        email: Some("nicolo@example.com".into()),
        phone: Some("+393331234567".into()),
        metadata: vec![("clientele_id".into(), "0190-abc".into())],
    }
}

#[tokio::test]
async fn calls_speak_stripes_wire_format_on_the_connected_account() {
    let fake = FakeStripe::connect().await;
    let api = client(&fake, Duration::from_secs(30));
    let auth = auth(Some(ACCOUNT));
    let customer = api.create_customer(&auth, "key-1", &new_customer()).await.unwrap();
    let intent =
        NewSetupIntent { customer: customer.id.clone(), metadata: vec![("clientele_id".into(), "0190-abc".into())] };
    let made = api.create_setup_intent(&auth, "key-2", &intent).await.unwrap();
    assert!(made.client_secret.starts_with(&format!("{}_secret_", made.id)));
    assert!(!format!("{made:?}").contains("secret_"), "Debug hides the client secret");
    let requests = fake.requests();
    let create = &requests[0];
    assert_eq!((create.method.as_str(), create.path.as_str()), ("POST", "/v1/customers"));
    assert_eq!(create.field("metadata[clientele_id]"), Some("0190-abc"));
    assert_eq!(create.field("name"), Some("Nicolò Rossi"));
    let setup = &requests[1];
    assert_eq!(setup.field("usage"), Some("off_session"));
    assert_eq!(setup.field("automatic_payment_methods[enabled]"), Some("true"));
    assert_eq!(setup.field("customer"), Some(customer.id.as_str()));
    for request in &requests {
        assert_eq!(request.stripe_version.as_deref(), Some(STRIPE_API_VERSION));
        assert_eq!(request.stripe_account.as_deref(), Some(ACCOUNT));
    }
    assert_eq!(requests.iter().map(|r| r.idempotency_key.clone().unwrap()).collect::<Vec<_>>(), ["key-1", "key-2"]);
    // Without the account header, the platform's key reaches nothing of the connected account.
    let refused = api.retrieve_customer(&self::auth(None), &customer.id).await.unwrap_err();
    assert!(matches!(refused, StripeApiError::Authentication(_)), "{refused:?}");
}

#[tokio::test]
async fn every_page_of_a_list_is_read_newest_first() {
    let fake = FakeStripe::start().await;
    fake.set_page_size(2);
    let api = client(&fake, Duration::from_secs(30));
    let auth = auth(None);
    let customer = api.create_customer(&auth, "k", &new_customer()).await.unwrap();
    let mut made = Vec::new();
    for n in 0..5 {
        let intent = NewSetupIntent { customer: customer.id.clone(), metadata: vec![] };
        let setup = api.create_setup_intent(&auth, &format!("s{n}"), &intent).await.unwrap();
        let events = fake.confirm_setup(&setup.client_secret, &FakeCard::visa());
        made.push(
            serde_json::from_str::<serde_json::Value>(&events[1].payload).unwrap()["data"]["object"]["id"].clone(),
        );
    }
    let listed = api.list_payment_methods(&auth, &customer.id).await.unwrap();
    let ids: Vec<&str> = listed.iter().map(|m| m.id.as_str()).collect();
    let mut expected: Vec<&str> = made.iter().map(|v| v.as_str().unwrap()).collect();
    expected.reverse();
    assert_eq!(ids, expected);
    assert!(listed.iter().all(|m| m.brand.as_deref() == Some("visa") && m.last4.as_deref() == Some("4242")));
    let pages = fake.requests().into_iter().filter(|r| r.path.ends_with("/payment_methods")).count();
    assert_eq!(pages, 3, "five methods two a page");
}

#[tokio::test]
async fn lock_timeouts_rate_limits_and_server_errors_are_retried_with_the_same_idempotency_key() {
    let fake = FakeStripe::start().await;
    let api = client(&fake, Duration::from_secs(30));
    fake.fail_next([FakeFailure::lock_timeout(), FakeFailure::rate_limited()]);
    api.create_customer(&auth(None), "retry-key", &new_customer()).await.unwrap();
    let keys: Vec<String> = fake.requests().iter().map(|r| r.idempotency_key.clone().unwrap()).collect();
    assert_eq!(keys, ["retry-key"; 3]);
    assert_eq!(fake.customers().len(), 1);

    // The same key and request again: Stripe replays the first answer, making nothing new.
    api.create_customer(&auth(None), "retry-key", &new_customer()).await.unwrap();
    assert_eq!(fake.customers().len(), 1);

    // Three 5xx in a row: the first attempt and two retries, then unavailable.
    fake.fail_next([FakeFailure::server_error(), FakeFailure::server_error(), FakeFailure::server_error()]);
    let before = fake.requests().len();
    let error = api.create_customer(&auth(None), "k2", &new_customer()).await.unwrap_err();
    assert!(matches!(&error, StripeApiError::Unavailable(m) if m.contains("500")), "{error:?}");
    assert_eq!(fake.requests().len() - before, 3);
}

#[tokio::test]
async fn stripe_should_retry_false_is_obeyed() {
    let fake = FakeStripe::start().await;
    let api = client(&fake, Duration::from_secs(30));
    fake.fail_next([FakeFailure::server_error_not_to_retry()]);
    let error = api.create_customer(&auth(None), "k", &new_customer()).await.unwrap_err();
    assert!(matches!(error, StripeApiError::Unavailable(_)), "{error:?}");
    assert_eq!(fake.requests().len(), 1, "not retried");
}

#[tokio::test]
async fn declines_missing_objects_and_wrong_keys_are_told_apart() {
    let fake = FakeStripe::start().await;
    let api = client(&fake, Duration::from_secs(30));
    let customer = api.create_customer(&auth(None), "k", &new_customer()).await.unwrap();
    fake.fail_next([FakeFailure::card_declined("insufficient_funds")]);
    let intent = NewSetupIntent { customer: customer.id.clone(), metadata: vec![] };
    let declined = api.create_setup_intent(&auth(None), "k3", &intent).await.unwrap_err();
    assert!(
        matches!(&declined, StripeApiError::Card { decline_code: Some(d), code: Some(c), .. } if d == "insufficient_funds" && c == "card_declined"),
        "{declined:?}"
    );
    let missing = api.retrieve_payment_method(&auth(None), "pm_nothing").await.unwrap_err();
    assert!(matches!(&missing, StripeApiError::Refused { status: 404, code: Some(c), .. } if c == "resource_missing"));
    let wrong = StripeAuth { secret_key: "sk_test_wrong0000000000".into(), account: None };
    assert!(matches!(api.retrieve_customer(&wrong, &customer.id).await, Err(StripeApiError::Authentication(_))));
    let reused = api.create_customer(&auth(None), "k", &NewStripeCustomer { name: None, ..new_customer() }).await;
    assert!(
        matches!(reused, Err(StripeApiError::Refused { status: 400, .. })),
        "an idempotency key reused for another request"
    );
}

#[tokio::test]
async fn a_stripe_that_never_answers_is_given_up_after_each_attempts_timeout() {
    let fake = FakeStripe::start().await;
    let api = client(&fake, Duration::from_millis(200));
    fake.set_silent(true);
    let error = api.retrieve_customer(&auth(None), "cus_1").await.unwrap_err();
    assert!(matches!(&error, StripeApiError::Unavailable(m) if m.contains("no answer within")), "{error:?}");
    assert_eq!(fake.requests().len(), 3, "timeouts are retried too");
}
