//! "Add to Slack" (OAuth v2) for many workspaces (S7): a single-use `state` bound
//! to the browser by a cookie and valid ten minutes; the code is exchanged only
//! after the state checks out; the bot token is stored sealed, per (enterprise,
//! team), and a reinstall updates the same row. Starting an install writes nothing
//! (R5): the state is signed rather than stored (see `install_state`), and the
//! callback writes only once the state and its cookie verify.

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use slack_morphism::prelude::*;

use super::install_state::{Checked, LIFETIME_SECONDS};
use super::{Slack, crypto};
use crate::store::slack::NewInstallation;

pub const COOKIE: &str = "keel_slack_install";
/// The bot scopes Keel asks for: exactly those it uses (see slack-app-manifest.yml).
pub const SCOPES: &str = "commands,chat:write,files:write,im:write,mpim:write,users:read,usergroups:read,channels:history,groups:history,reactions:read";

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><meta charset=utf-8><title>{title}</title><h1>{title}</h1><p>{body}</p>",
        title = html_escape(title),
        body = html_escape(body)
    );
    (status, Html(html)).into_response()
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn redirect_uri(slack: &Slack) -> Option<String> {
    slack
        .public_url
        .as_ref()
        .map(|base| format!("{base}/slack/oauth/callback"))
}

/// GET /slack/install: to Slack's approval page, with a fresh state.
pub async fn start(slack: &Slack) -> Response {
    let (Some(client_id), Some(redirect), Some(states)) = (
        &slack.settings.client_id,
        redirect_uri(slack),
        slack.install_states(),
    ) else {
        return page(
            StatusCode::NOT_FOUND,
            "Installs are not enabled",
            "This Keel serves one workspace.",
        );
    };
    let mut url = match url::Url::parse(&slack.settings.authorize_url) {
        Ok(u) => u,
        Err(_) => {
            return page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Sorry",
                "slack.authorize_url is not a URL.",
            );
        }
    };
    let issued = states.issue(slack.app.now());
    url.query_pairs_mut()
        .append_pair("client_id", client_id)
        .append_pair("scope", SCOPES)
        .append_pair("redirect_uri", &redirect)
        .append_pair("state", &issued.state);
    let cookie = format!(
        "{COOKIE}={}; Secure; HttpOnly; Path=/; Max-Age={LIFETIME_SECONDS}; SameSite=Lax",
        issued.browser
    );
    let mut response = Redirect::to(url.as_str()).into_response();
    if let Ok(value) = cookie.parse() {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

fn cookie_value(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_string())
}

/// GET /slack/oauth/callback: check the state, then exchange the code.
pub async fn finish(
    slack: &Slack,
    headers: &HeaderMap,
    query: &std::collections::HashMap<String, String>,
) -> Response {
    if let Some(error) = query.get("error") {
        return page(
            StatusCode::BAD_REQUEST,
            "Installation cancelled",
            &format!("Slack said: {error}. Nothing was installed."),
        );
    }
    let (Some(code), Some(state), Some(browser)) =
        (query.get("code"), query.get("state"), cookie_value(headers))
    else {
        return page(
            StatusCode::BAD_REQUEST,
            "Installation link incomplete",
            "Start again from the Add to Slack button, in the same browser.",
        );
    };
    let Some(states) = slack.install_states() else {
        return page(
            StatusCode::NOT_FOUND,
            "Installs are not enabled",
            "This Keel serves one workspace.",
        );
    };
    let expired = || {
        page(
            StatusCode::UNAUTHORIZED,
            "Installation link expired",
            "Links work once, for ten minutes. Start again from the Add to Slack button.",
        )
    };
    let (single_use, expires_at) = match states.check(state, &browser, slack.app.now()) {
        Checked::Valid {
            single_use,
            expires_at,
        } => (single_use, expires_at),
        Checked::Unrecognised => {
            return page(
                StatusCode::BAD_REQUEST,
                "Installation link not recognised",
                "Start again from the Add to Slack button, in the same browser.",
            );
        }
        Checked::Expired => return expired(),
    };
    // The first write of the flow, and only for a state that verified.
    let first_use = slack
        .app
        .store()
        .spend_install_state(&single_use, expires_at)
        .await;
    match first_use {
        Ok(true) => {}
        Ok(false) => return expired(),
        Err(e) => {
            tracing::error!(error = %e, "recording a used install state");
            return page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Sorry",
                "Something went wrong on our side; try again.",
            );
        }
    }
    match exchange(slack, code).await {
        Ok(team) => {
            let mut response = page(
                StatusCode::OK,
                "Keel is installed",
                &format!(
                    "Keel is now in {team}. In Slack, type /keel help to start; organisers set the announcement channel with /keel setup announcements #channel."
                ),
            );
            if let Ok(value) = format!("{COOKIE}=; Secure; HttpOnly; Path=/; Max-Age=0").parse() {
                response.headers_mut().insert(header::SET_COOKIE, value);
            }
            response
        }
        Err((status, message)) => page(status, "Installation did not finish", &message),
    }
}

/// Exchanges the code and stores the installation; the team's name, or the status
/// and message of the page that says why not.
async fn exchange(slack: &Slack, code: &str) -> Result<String, (StatusCode, String)> {
    let our_side = |message: &str| (StatusCode::INTERNAL_SERVER_ERROR, message.to_string());
    let (Some(client_id), Some(secret), Some(key), Some(redirect)) = (
        &slack.settings.client_id,
        &slack.settings.client_secret,
        slack.key(),
        redirect_uri(slack),
    ) else {
        return Err(our_side(
            "Installs are not fully configured on this server.",
        ));
    };
    let redirect =
        url::Url::parse(&redirect).map_err(|_| our_side("slack.public_url is not a URL."))?;
    let grant = grant(slack, client_id, secret.expose(), code, &redirect)
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, "oauth.v2.access failed");
            (
                StatusCode::BAD_GATEWAY,
                "Slack did not accept the installation code. Start again from the Add to Slack button."
                    .to_string(),
            )
        })?;
    // An organisation-wide install (Enterprise Grid) names no team, and Keel keys
    // everything by the workspace a request comes from.
    let Some(team) = grant.team else {
        return Err((
            StatusCode::BAD_REQUEST,
            "Keel is installed workspace by workspace: install it to one workspace of the organisation at a time."
                .into(),
        ));
    };
    let team_id = team.id;
    let team_name = team.name.unwrap_or_else(|| team_id.clone());
    let enterprise = grant.enterprise.map(|e| e.id).unwrap_or_default();
    let enterprise = enterprise.as_str();
    let sealed = key.seal(
        &grant.access_token,
        &crypto::associated(enterprise, &team_id),
    );
    let now = slack.app.now();
    let installation = NewInstallation {
        enterprise_id: enterprise,
        team_id: &team_id,
        team_name: &team_name,
        bot_user_id: grant.bot_user_id.as_deref(),
        bot_token_sealed: &sealed,
        installer_user_id: grant.authed_user.as_ref().map(|u| u.id.as_str()),
        scopes: &grant.scope,
    };
    slack
        .app
        .store()
        .save_slack_installation(&installation, now)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "saving installation");
            our_side("Something went wrong on our side; try again.")
        })?;
    tracing::info!(team = %team_id, "Slack workspace installed");
    Ok(team_name)
}

#[cfg(test)]
mod tests {
    /// The install asks for exactly the manifest's scopes, in its order.
    #[test]
    fn scopes_match_the_manifest() {
        let manifest = include_str!("../../slack-app-manifest.yml");
        let listed: Vec<&str> = manifest
            .split("bot:")
            .nth(1)
            .unwrap()
            .lines()
            .skip(1)
            .map_while(|l| l.trim().strip_prefix("- "))
            .map(|l| l.split_whitespace().next().unwrap())
            .collect();
        assert_eq!(listed.join(","), super::SCOPES);
    }
}

/// What `oauth.v2.access` grants: slack-morphism's own type leaves out the
/// enterprise, which keys an installation with the team (S7), and insists on a team,
/// which an organisation-wide install does not name.
#[derive(serde::Deserialize)]
struct Grant {
    access_token: String,
    scope: String,
    bot_user_id: Option<String>,
    team: Option<Named>,
    enterprise: Option<Named>,
    authed_user: Option<AuthedUser>,
}

#[derive(serde::Deserialize)]
struct Named {
    id: String,
    name: Option<String>,
}

#[derive(serde::Deserialize)]
struct AuthedUser {
    id: String,
}

/// Exchanges the code as slack-morphism's `oauth2_access` does (client id and
/// secret as basic auth, at the configured API base), reading Slack's whole answer.
async fn grant(
    slack: &Slack,
    client_id: &str,
    client_secret: &str,
    code: &str,
    redirect: &url::Url,
) -> Result<Grant, slack_morphism::errors::SlackClientError> {
    let connector = &slack.client.http_api.connector;
    let uri = SlackClientHttpApiUri::create_url_with_params(
        connector.create_method_uri_path("oauth.v2.access")?,
        &[
            ("code", Some(&code.to_string())),
            ("redirect_uri", Some(&redirect.as_str().to_string())),
        ],
    )?;
    let (id, secret) = (
        SlackClientId(client_id.to_string()),
        SlackClientSecret(client_secret.to_string()),
    );
    let granted = connector.http_get_with_client_secret(uri, &id, &secret);
    super::api::within(slack.call_timeout, granted).await
}
