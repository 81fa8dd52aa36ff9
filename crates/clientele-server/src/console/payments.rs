//! A customer's payment methods on the profile, and the card form. Cards are typed into Stripe
//! Elements (Stripe.js, loaded from Stripe's own host as Stripe requires), which confirms a
//! SetupIntent with Stripe directly: the number never reaches this server, and the only page
//! whose Content-Security-Policy admits Stripe's origin is the card form's.
//!
//! The flow: "Add a card" makes the SetupIntent (`App::payment_setup`, audited), the page mounts
//! the payment element with its client secret, `confirmSetup` sends the card to Stripe, and the
//! browser comes back to `…/payment-methods/added`, which reads the list from Stripe afresh
//! (Stripe's webhook saying the same may come a moment later) and returns to the profile.
//! Admins and operators only, as the API: the section is not shown to anyone else, and its
//! routes answer them 403, audited.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use clientele_core::customers::view::CustomerRead;
use clientele_core::error::{Error, ErrorCode};
use clientele_core::ids::CustomerId;
use clientele_core::payments::record::{PaymentMethodView, StripeId};
use serde::Deserialize;

use crate::AppState;
use crate::console::customers::parse_id;
use crate::console::errors::PageError;
use crate::console::i18n::Tr;
use crate::console::session::{Console, ConsoleForm, render};
use crate::console::shell::Shell;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/customers/{id}/payment-methods", get(section))
        .route("/customers/{id}/payment-methods/new", get(card_form))
        .route("/customers/{id}/payment-methods/added", get(added))
        .route("/customers/{id}/payment-methods/{pm}/default", post(make_default))
        .route("/customers/{id}/payment-methods/{pm}/remove", post(remove))
}

/// Origins a page needs beyond this site, as a response extension that the console's
/// security headers add to its Content-Security-Policy (only the card form has one).
#[derive(Debug, Clone)]
pub struct ExtraOrigins {
    /// Where scripts may come from (Stripe.js).
    pub script: String,
    /// What the page may frame (Stripe's card fields and 3-D Secure pages).
    pub frame: String,
    /// What the page may connect to (Stripe's API).
    pub connect: String,
}

impl ExtraOrigins {
    /// Stripe.js at `js_url`: its origin, with Stripe's API and 3-D Secure hosts as Stripe's
    /// documentation lists them.
    fn stripe(js_url: &str) -> Option<Self> {
        let url: axum::http::Uri = js_url.parse().ok()?;
        let (scheme, host) = (url.scheme_str()?, url.authority()?.as_str());
        if !matches!(scheme, "https" | "http") || host.contains('@') {
            return None;
        }
        let origin = format!("{scheme}://{host}");
        Some(Self {
            script: origin.clone(),
            frame: format!("{origin} https://hooks.stripe.com"),
            connect: format!("{origin} https://api.stripe.com"),
        })
    }

    /// The console's policy with these origins added.
    pub fn policy(&self) -> HeaderValue {
        let policy = super::CONTENT_SECURITY_POLICY
            .replacen("script-src 'self'", &format!("script-src 'self' {}", self.script), 1)
            .replacen("frame-src 'self'", &format!("frame-src 'self' {}", self.frame), 1)
            .replacen("connect-src 'self'", &format!("connect-src 'self' {}", self.connect), 1);
        HeaderValue::from_str(&policy).unwrap_or(HeaderValue::from_static(super::CONTENT_SECURITY_POLICY))
    }
}

/// The profile's payment-methods section (loaded by htmx once the profile is shown, so that a
/// slow Stripe never slows the profile).
#[derive(Template)]
#[template(path = "customers/payment_methods.html")]
struct Section {
    t: Tr,
    csrf: String,
    customer: CustomerId,
    methods: Vec<PaymentMethodView>,
    /// Why the list cannot be shown (Stripe not set up, or not answering); empty when it is.
    problem: String,
}

impl Section {
    /// "Visa •••• 4242" (or the method's type, for what is not a card).
    fn label(&self, method: &PaymentMethodView) -> String {
        let brand = method.brand.as_deref().unwrap_or(&method.kind);
        let brand = match brand {
            "amex" => "American Express".to_owned(),
            "diners" => "Diners Club".to_owned(),
            "jcb" => "JCB".to_owned(),
            "unionpay" => "UnionPay".to_owned(),
            "sepa_debit" => "SEPA".to_owned(),
            other => {
                let mut chars = other.chars();
                chars.next().map(|first| first.to_uppercase().chain(chars).collect()).unwrap_or_default()
            }
        };
        match &method.last4 {
            Some(last4) => format!("{brand} •••• {last4}"),
            None => brand,
        }
    }
}

/// Stripe's answers that the section shows in words instead of failing the page.
fn problem_text(tr: Tr, error: &Error) -> Option<String> {
    match error.code() {
        ErrorCode::PaymentsNotConfigured => Some(tr.t("payments-not-configured").to_owned()),
        ErrorCode::StripeUnavailable | ErrorCode::StripeRequestRefused => {
            Some(tr.tf("payments-unavailable", &[("reason", &error.to_string())]))
        }
        _ => None,
    }
}

async fn section(State(state): State<AppState>, c: Console, Path(id): Path<String>) -> Result<Response, PageError> {
    let customer = parse_id(&id)?;
    let (methods, problem) = match state.app.payment_methods(&c.actor, customer).await {
        Ok(methods) => (methods, String::new()),
        Err(error) => match problem_text(c.tr, &error) {
            Some(text) => (Vec::new(), text),
            None => return Err(error.into()),
        },
    };
    let page = Section { t: c.tr, csrf: c.session.csrf_token.clone(), customer, methods, problem };
    Ok(render(&page))
}

/// The card form: Stripe's payment element, mounted with a fresh SetupIntent's client secret.
#[derive(Template)]
#[template(path = "customers/add_card.html")]
struct CardForm {
    s: Shell,
    t: Tr,
    customer: CustomerId,
    name: String,
    js_url: String,
    publishable_key: String,
    client_secret: String,
    account: String,
    problem: String,
}

async fn card_form(State(state): State<AppState>, c: Console, Path(id): Path<String>) -> Result<Response, PageError> {
    let customer = parse_id(&id)?;
    // The setup first: it refuses (and audits) whoever may not add a card, before anything of
    // the customer is read.
    let (setup, problem) = match state.app.payment_setup(&c.actor, customer).await {
        Ok(setup) => (Some(setup), String::new()),
        Err(error) => (None, problem_text(c.tr, &error).ok_or(error)?),
    };
    let name = match state.app.customer(&c.actor, customer).await? {
        CustomerRead::Full(detail) => detail.view.customer.display_name(),
        CustomerRead::Contact(_) => return Err(Error::NotFound("customer").into()),
    };
    let js_url = state.app.stripe_js_url().to_owned();
    let origins = setup.is_some().then(|| ExtraOrigins::stripe(&js_url)).flatten();
    let (publishable_key, client_secret, account) = match setup {
        Some(setup) => (setup.publishable_key, setup.client_secret, setup.stripe_account.unwrap_or_default()),
        None => Default::default(),
    };
    let page = CardForm {
        s: c.shell_titled(c.tr.t("card-title").to_owned(), "customers"),
        t: c.tr,
        customer,
        name,
        js_url,
        publishable_key,
        client_secret,
        account,
        problem,
    };
    let mut response = render(&page);
    if let Some(origins) = origins {
        response.extensions_mut().insert(origins);
    }
    Ok(response)
}

/// What Stripe.js appends to the return URL.
#[derive(Debug, Deserialize)]
struct Returned {
    #[serde(default)]
    redirect_status: String,
}

async fn added(
    State(state): State<AppState>,
    c: Console,
    Path(id): Path<String>,
    Query(returned): Query<Returned>,
) -> Result<Response, PageError> {
    let customer = parse_id(&id)?;
    state.app.fresh_payment_methods(&c.actor, customer).await?;
    let saved = if returned.redirect_status == "succeeded" { "card-added" } else { "card-not-added" };
    Ok(Redirect::to(&format!("/customers/{customer}?saved={saved}#payment-methods")).into_response())
}

async fn make_default(
    State(state): State<AppState>,
    Path((id, pm)): Path<(String, String)>,
    ConsoleForm { c, .. }: ConsoleForm,
) -> Result<Response, PageError> {
    let (customer, method) = ids(&id, &pm)?;
    state.app.set_default_payment_method(&c.actor, customer, &method).await?;
    Ok(Redirect::to(&format!("/customers/{customer}?saved=card-default#payment-methods")).into_response())
}

async fn remove(
    State(state): State<AppState>,
    Path((id, pm)): Path<(String, String)>,
    ConsoleForm { c, .. }: ConsoleForm,
) -> Result<Response, PageError> {
    let (customer, method) = ids(&id, &pm)?;
    state.app.remove_payment_method(&c.actor, customer, &method).await?;
    Ok(Redirect::to(&format!("/customers/{customer}?saved=card-removed#payment-methods")).into_response())
}

fn ids(customer: &str, method: &str) -> Result<(CustomerId, StripeId), PageError> {
    let method = method.parse().map_err(|_| PageError(Error::NotFound("payment method")))?;
    Ok((parse_id(customer)?, method))
}
