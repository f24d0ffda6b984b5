//! Bearer checks for api.anaf.ro.
//!
//! A missing, malformed, expired or revoked token answers 401 (what every ANAF API
//! gateway answers); the body is Spring's error JSON, the form ANAF's services use for
//! their other HTTP errors. Entitlement to a CIF is not a gateway matter: the services
//! answer it in their own format with HTTP 200 ("Nu aveti drept in SPV pentru CIF=…",
//! as in ANAF's swagger), unless `foreign_cif_403` asks for a bare 403 instead.

use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;

use crate::jwt::Claims;
use crate::respond::spring_error;
use crate::state::State;

pub fn bearer(st: &State, headers: &HeaderMap) -> Result<Claims, Response> {
    let now = st.clock.now_ms();
    let deny = |msg: &str| {
        st.lock().counters.unauthorized += 1;
        let mut r = spring_error(now, StatusCode::UNAUTHORIZED, msg);
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            "Bearer realm=\"api.anaf.ro\", error=\"invalid_token\""
                .parse()
                .unwrap(),
        );
        r
    };
    let Some(v) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return Err(deny("Unauthorized"));
    };
    let Some((scheme, tok)) = v.split_once(' ') else {
        return Err(deny("Unauthorized"));
    };
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(deny("Unauthorized"));
    }
    let Some(c) = st.signer.verify(tok.trim()) else {
        return Err(deny("Invalid token"));
    };
    if c.token_use != "access" {
        return Err(deny("Invalid token"));
    }
    if c.exp <= now.div_euclid(1000) {
        return Err(deny("Token expired"));
    }
    let g = st.lock();
    if g.revoked_access.contains(&c.jti) {
        drop(g);
        return Err(deny("Token revoked"));
    }
    if !g.apps.contains_key(&c.clientappid) {
        drop(g);
        return Err(deny("Application no longer registered"));
    }
    Ok(c)
}

/// What a service should answer about the CIF in a request.
pub enum CifCheck {
    Ok,
    /// The serial is enrolled for no CIF at all.
    NoCif,
    /// Enrolled, but not for this CIF.
    NotForCif,
    /// Bare 403 (foreign_cif_403 switch).
    Forbidden(Response),
}

pub fn check_cif(st: &State, claims: &Claims, cif: &str) -> CifCheck {
    let g = st.lock();
    if g.enrolled(&claims.serial, cif) {
        return CifCheck::Ok;
    }
    if g.foreign_cif_403 {
        drop(g);
        return CifCheck::Forbidden(spring_error(
            st.clock.now_ms(),
            StatusCode::FORBIDDEN,
            "Forbidden",
        ));
    }
    if g.enrolled_any(&claims.serial) {
        CifCheck::NotForCif
    } else {
        CifCheck::NoCif
    }
}
