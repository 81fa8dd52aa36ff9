//! The Ca.R.G.O.S. client against the local fake of the police API, over real HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use clientele_core::cargos::CargosApiKey;
use clientele_core::cargos::api::{CargosApi, CargosApiError, CargosCredentials, CargosSession, CargosTable};
use clientele_core::cargos::tables::table_text;
use clientele_integrations::cargos::HttpCargosApi;
use clientele_integrations::testing::{API_KEY, FakeCargos, FakeMode, PASSWORD, USERNAME};

fn credentials(password: &str) -> CargosCredentials {
    CargosCredentials { username: USERNAME.into(), password: password.into(), api_key: API_KEY.into() }
}

fn client(fake: &FakeCargos, timeout: Duration) -> HttpCargosApi {
    HttpCargosApi::new(&fake.base_url, timeout).unwrap()
}

async fn session(api: &HttpCargosApi) -> CargosSession {
    let token = api.token(&credentials(PASSWORD)).await.unwrap();
    let bearer = CargosApiKey::parse(API_KEY).unwrap().encrypt_token(&token.access_token);
    CargosSession { bearer, organization: USERNAME.into() }
}

/// A 1505-character record of contract `id` (the fake reads only the contract id and the length).
fn record(id: &str) -> String {
    format!("{id:<1505}")
}

#[tokio::test]
async fn a_token_is_issued_with_basic_auth_and_its_encryption_opens_the_other_calls() {
    let fake = FakeCargos::start().await;
    let api = client(&fake, Duration::from_secs(30));
    let token = api.token(&credentials(PASSWORD)).await.unwrap();
    assert!(token.access_token.starts_with("fake-access-token-"));
    assert!(token.expires_at.is_some(), "the .NET expiry with 7 fractional digits is read");
    let answers = api.check(&session(&api).await, &[record("A-1"), record("A-2")]).await.unwrap();
    assert_eq!(answers.len(), 2);
    assert!(answers.iter().all(|a| a.accepted && a.error.is_none()));
    // The plain token is not a bearer the service accepts.
    let plain = CargosSession { bearer: token.access_token, organization: USERNAME.into() };
    assert!(matches!(api.check(&plain, &[record("A-1")]).await, Err(CargosApiError::CredentialsRefused(_))));
}

#[tokio::test]
async fn wrong_credentials_are_refused_credentials_whatever_the_status() {
    let fake = FakeCargos::start().await;
    let api = client(&fake, Duration::from_secs(30));
    let refused = api.token(&credentials("wrong")).await.unwrap_err();
    let CargosApiError::CredentialsRefused(message) = refused else { panic!("{refused:?}") };
    assert!(message.contains("non validi"), "{message}");
}

#[tokio::test]
async fn per_record_refusals_come_back_in_order_with_the_police_words() {
    let fake = FakeCargos::start().await;
    fake.refuse("B-2", "Campo: CONTRATTO_DATA - Data non valida");
    let api = client(&fake, Duration::from_secs(30));
    let session = session(&api).await;
    let answers = api.send(&session, &[record("B-1"), record("B-2"), record("B-3")]).await.unwrap();
    let accepted: Vec<bool> = answers.iter().map(|a| a.accepted).collect();
    assert_eq!(accepted, [true, false, true]);
    assert_eq!(answers[0].transaction_id.as_deref(), Some("2026/FK/1"));
    assert_eq!(answers[1].transaction_id, None);
    let error = answers[1].error.as_ref().unwrap();
    assert_eq!((error.code, error.description.as_str()), (Some(4), "Campo: CONTRATTO_DATA - Data non valida"));
    assert_eq!(fake.records("send").len(), 3);
}

#[tokio::test]
async fn a_server_error_is_an_unavailable_service() {
    let fake = FakeCargos::start().await;
    let api = client(&fake, Duration::from_secs(30));
    let session = session(&api).await;
    fake.set_mode(FakeMode::ServerError);
    let error = api.check(&session, &[record("C-1")]).await.unwrap_err();
    assert!(matches!(&error, CargosApiError::Unavailable(m) if m.contains("500")), "{error:?}");
}

#[tokio::test]
async fn a_service_that_never_answers_is_given_up_after_the_timeout() {
    let fake = FakeCargos::start().await;
    let api = client(&fake, Duration::from_millis(300));
    let session = session(&api).await;
    // The fake holds the call forever: only the client's own timeout can end it.
    fake.set_mode(FakeMode::Silent);
    let error = api.send(&session, &[record("D-1")]).await.unwrap_err();
    assert!(matches!(&error, CargosApiError::Unavailable(m) if m.contains("no answer within")), "{error:?}");
}

#[tokio::test]
async fn tables_arrive_as_base64_files_and_read_as_text() {
    let fake = FakeCargos::start().await;
    let api = client(&fake, Duration::from_secs(30));
    let session = session(&api).await;
    let places = table_text(&api.table(&session, CargosTable::Places).await.unwrap());
    assert!(places.starts_with("Codice#Descrizione#Provincia#DataFineVal"), "{}", &places[..60]);
    assert!(places.contains("412058091#ROMA#RM#"));
    let payments = table_text(&api.table(&session, CargosTable::PaymentTypes).await.unwrap());
    assert!(payments.contains("0#Carta di Credito"));
}
