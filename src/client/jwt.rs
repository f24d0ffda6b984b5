//! Reading the claims of ANAF's JWT tokens (no signature check: the DLL is not the
//! resource server, it only needs the expiry and the certificate serial to manage the token).

use crate::config::normalize_serial;
use serde_json::Value;

/// The claims this library uses; anything absent or unreadable is `None`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Claims {
    /// Expiry, seconds since 1970 (UTC).
    pub exp: Option<i64>,
    /// Issued at, seconds since 1970 (UTC).
    pub iat: Option<i64>,
    /// The serial of the certificate the token was obtained with, upper-case hex.
    pub serial: Option<String>,
    /// The OAuth application (ANAF's `clientappid`).
    pub client_app_id: Option<String>,
    /// What the token is: the `token_use` claim ("access" / "refresh"), else `token_type`
    /// (some versions of ANAF's tokens).
    pub token_type: Option<String>,
}

/// Decodes the payload of a JWT. `None` when the token is not a JWT (opaque token) or its
/// payload is not a JSON object.
pub fn claims(token: &str) -> Option<Claims> {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    let mut parts = token.trim().split('.');
    let (_header, payload, _sig) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    // Some issuers pad their base64url; tolerate it.
    let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    let Value::Object(map) = serde_json::from_slice::<Value>(&bytes).ok()? else {
        return None;
    };
    let int = |k: &str| -> Option<i64> {
        match map.get(k)? {
            Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    };
    let string = |k: &str| -> Option<String> {
        match map.get(k)? {
            Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    };
    Some(Claims {
        exp: int("exp"),
        iat: int("iat"),
        // Upper-case hex as the configuration's; a claim that is not hex is kept as it came.
        serial: string("serial").map(|s| normalize_serial(&s).unwrap_or(s)),
        client_app_id: string("clientappid").or_else(|| string("client_id")),
        token_type: string("token_use").or_else(|| string("token_type")),
    })
}

#[cfg(test)]
pub(crate) fn make(payload: &serde_json::Value) -> String {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"RS512","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(payload.to_string()),
        URL_SAFE_NO_PAD.encode(b"not-a-real-signature")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_anaf_claims() {
        let t = make(&json!({"exp": 1_900_000_000u64, "iat": 1_800_000_000u64,
            "serial": "1a:2b 3c", "clientappid": "abc", "iss": "https://logincert.anaf.ro"}));
        let c = claims(&t).unwrap();
        assert_eq!(c.exp, Some(1_900_000_000));
        assert_eq!(c.iat, Some(1_800_000_000));
        assert_eq!(c.serial.as_deref(), Some("1A2B3C"));
        assert_eq!(c.client_app_id.as_deref(), Some("abc"));
    }

    #[test]
    fn tolerates_strings_and_padding() {
        use base64::engine::general_purpose::URL_SAFE;
        use base64::Engine;
        let p = URL_SAFE.encode(br#"{"exp":"1900000000","serial":12345}"#);
        let c = claims(&format!("h.{p}.s")).unwrap();
        assert_eq!(c.exp, Some(1_900_000_000));
        assert_eq!(c.serial.as_deref(), Some("12345"));
    }

    #[test]
    fn opaque_tokens_have_no_claims() {
        assert_eq!(claims("b1f7c6e0-0a4c-4c9e-9f0d-3b0b0f8f0e11"), None);
        assert_eq!(claims("a.b.c.d"), None);
        assert_eq!(claims("a.!!!.c"), None);
        assert_eq!(claims(&format!("a.{}.c", "WzEsMl0")), None, "array payload");
        assert_eq!(claims(""), None);
    }
}
