//! The stable status codes of the C API and their messages in Romanian and English.
//!
//! The numbers never change once released: ERPs compare against them. Zero is success,
//! positive values are non-error outcomes the caller must look at, negative values are
//! errors. Every code has a Romanian and an English text written for the person who will
//! read it (the accountant for login and token problems, the developer for API misuse).

/// Success.
pub const ANAF_OK: i32 = 0;
/// Not finished yet: a browser link still waiting, or ANAF still processing a message.
pub const ANAF_PENDING: i32 = 1;
/// The same XML was already uploaded for this CIF: the answer carries its index_incarcare.
pub const ANAF_ALREADY_UPLOADED: i32 = 2;

/// A required pointer argument was NULL.
pub const ANAF_ERR_NULL_POINTER: i32 = -1;
/// A string argument is not valid UTF-8.
pub const ANAF_ERR_INVALID_UTF8: i32 = -2;
/// A JSON argument could not be parsed.
pub const ANAF_ERR_INVALID_JSON: i32 = -3;
/// The configuration has a missing, unknown or invalid field (named in the message).
pub const ANAF_ERR_INVALID_CONFIG: i32 = -4;
/// An argument has an invalid value (named in the message).
pub const ANAF_ERR_INVALID_ARGUMENT: i32 = -5;
/// This function is declared but not available in this build.
pub const ANAF_ERR_NOT_IMPLEMENTED: i32 = -6;
/// An internal error was caught at the API boundary; the host process is unaffected.
pub const ANAF_ERR_INTERNAL: i32 = -7;

/// The token database could not be opened or used.
pub const ANAF_ERR_DATABASE: i32 = -10;
/// The token database stayed locked by another process longer than the busy timeout.
pub const ANAF_ERR_DATABASE_LOCKED: i32 = -11;
/// The token database (or its folder) is read-only.
pub const ANAF_ERR_DATABASE_READONLY: i32 = -12;
/// The token database was created by a newer version of anaf-bridge.
pub const ANAF_ERR_DATABASE_NEWER: i32 = -13;
/// The token database or a token row is damaged.
pub const ANAF_ERR_DATABASE_CORRUPT: i32 = -14;

/// No token is stored for this profile: generate one with the certificate.
pub const ANAF_ERR_NO_TOKEN: i32 = -20;
/// The refresh token is expired or refused: a new login with the certificate is needed.
pub const ANAF_ERR_LOGIN_REQUIRED: i32 = -21;
/// ANAF refused the client_id / client_secret.
pub const ANAF_ERR_INVALID_CLIENT: i32 = -22;
/// ANAF's identity provider answered with another OAuth error (message kept).
pub const ANAF_ERR_OAUTH: i32 = -23;
/// ANAF denied access: USB token not plugged in or certificate not enrolled in SPV for this CIF.
pub const ANAF_ERR_ACCESS_DENIED: i32 = -24;
/// The user closed the login window or cancelled.
pub const ANAF_ERR_CANCELLED: i32 = -25;
/// The operation did not finish within its timeout.
pub const ANAF_ERR_TIMEOUT: i32 = -26;
/// No certificate with the configured serial number was offered.
pub const ANAF_ERR_CERT_NOT_FOUND: i32 = -27;
/// The TLS connection failed (certificate, handshake, trust).
pub const ANAF_ERR_TLS: i32 = -28;
/// The Microsoft Edge WebView2 runtime is not installed.
pub const ANAF_ERR_WEBVIEW2_MISSING: i32 = -29;
/// The login answer does not belong to this login (state mismatch).
pub const ANAF_ERR_STATE_MISMATCH: i32 = -30;
/// The authorization code expired (it must be used within 60 seconds) or was already used.
pub const ANAF_ERR_CODE_EXPIRED: i32 = -31;
/// The redirect_uri does not match the callback registered in SPV.
pub const ANAF_ERR_REDIRECT_MISMATCH: i32 = -32;
/// The login window could not be created.
pub const ANAF_ERR_WINDOW: i32 = -33;

/// The network is unreachable (DNS, connection refused or reset).
pub const ANAF_ERR_NETWORK: i32 = -40;
/// ANAF answered with an unexpected HTTP status (e.g. 5xx).
pub const ANAF_ERR_HTTP: i32 = -41;
/// ANAF refused the token for this call (401/403): not entitled to this CIF or service.
pub const ANAF_ERR_UNAUTHORIZED: i32 = -42;
/// Too many requests (HTTP 429): slow down.
pub const ANAF_ERR_RATE_LIMITED: i32 = -43;
/// ANAF's daily quota for this call is used up.
pub const ANAF_ERR_QUOTA_EXCEEDED: i32 = -44;
/// An HTML page came back where XML/JSON/PDF was expected (firewall, proxy, maintenance).
pub const ANAF_ERR_HTML_RESPONSE: i32 = -45;
/// ANAF's answer could not be understood.
pub const ANAF_ERR_BAD_RESPONSE: i32 = -46;
/// ANAF processed the request and rejected it (its message is kept).
pub const ANAF_ERR_REJECTED: i32 = -47;
/// An earlier upload of the same document got no answer (timeout, reset, crash): ANAF may
/// have received it, so it was not sent again. Check the message list or upload with `force`.
pub const ANAF_ERR_UPLOAD_UNCERTAIN: i32 = -48;

/// A file could not be read or written.
pub const ANAF_ERR_FILE: i32 = -50;
/// The document is not well-formed XML.
pub const ANAF_ERR_NOT_XML: i32 = -51;
/// The document is larger than ANAF accepts (10 MB).
pub const ANAF_ERR_TOO_LARGE: i32 = -52;

/// The browser link expired (5 hours) before a token was generated.
pub const ANAF_ERR_LINK_EXPIRED: i32 = -60;
/// The browser link failed: the token could not be generated in the browser.
pub const ANAF_ERR_LINK_FAILED: i32 = -61;
/// No browser link is in progress for this client.
pub const ANAF_ERR_NO_LINK: i32 = -62;

/// The company's inbox is being synced by another process or workstation right now.
pub const ANAF_ERR_SYNC_BUSY: i32 = -70;
/// No such message in the inbox (or it was not downloaded yet).
pub const ANAF_ERR_NO_MESSAGE: i32 = -71;
/// No inbox sync was begun on this client (or its outcome was already polled).
pub const ANAF_ERR_NO_SYNC: i32 = -72;

/// Some invoices of an `anaf_upload_batch` are not at ANAF; its JSON says which and why.
pub const ANAF_ERR_BATCH_INCOMPLETE: i32 = -80;
/// A batch begun with `anaf_upload_batch_begin` on this client is still running.
pub const ANAF_ERR_BATCH_BUSY: i32 = -81;
/// No batch was begun on this client (or its outcome was already polled).
pub const ANAF_ERR_NO_BATCH: i32 = -82;

/// The user interface language of messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Ro,
    En,
}

/// The symbolic name of a status (as in the header), or "ANAF_UNKNOWN".
pub fn name(code: i32) -> &'static str {
    texts(code).0
}

/// The general meaning of a status in the given language; specific errors add detail.
pub fn message(code: i32, lang: Lang) -> &'static str {
    let (_, ro, en) = texts(code);
    match lang {
        Lang::Ro => ro,
        Lang::En => en,
    }
}

/// A row of [`TABLE`]: the code, its name as the header spells it, and its texts.
macro_rules! row {
    ($code:ident, $ro:literal, $en:literal) => {
        ($code, stringify!($code), $ro, $en)
    };
}

/// Every status: its code, its name, its general meaning in Romanian and in English. The
/// one list: [`all`], [`name`] and [`message`] read it, and a test checks that every code
/// this file declares is in it.
const TABLE: &[(i32, &str, &str, &str)] = &[
    row!(ANAF_OK, "Operațiune reușită.", "Success."),
    row!(ANAF_PENDING, "Operațiunea nu s-a încheiat încă; încercați din nou mai târziu.", "Not finished yet; try again later."),
    row!(ANAF_ALREADY_UPLOADED, "Acest fișier a fost deja încărcat la ANAF; nu a fost trimis din nou.", "This file was already uploaded to ANAF; it was not sent again."),
    row!(ANAF_ERR_NULL_POINTER, "Un parametru obligatoriu lipsește (pointer NULL).", "A required argument is missing (NULL pointer)."),
    row!(ANAF_ERR_INVALID_UTF8, "Textul primit nu este UTF-8 valid.", "The text argument is not valid UTF-8."),
    row!(ANAF_ERR_INVALID_JSON, "JSON-ul primit nu este valid.", "The JSON argument is not valid."),
    row!(ANAF_ERR_INVALID_CONFIG, "Configurația este incompletă sau greșită.", "The configuration is incomplete or wrong."),
    row!(ANAF_ERR_INVALID_ARGUMENT, "Un parametru are o valoare nepermisă.", "An argument has an invalid value."),
    row!(ANAF_ERR_NOT_IMPLEMENTED, "Funcția nu este disponibilă în această versiune a anaf-bridge.", "This function is not available in this version of anaf-bridge."),
    row!(ANAF_ERR_INTERNAL, "Eroare internă în anaf-bridge; aplicația poate continua. Trimiteți jurnalul furnizorului.", "Internal error in anaf-bridge; the application can continue. Send the log to the vendor."),
    row!(ANAF_ERR_DATABASE, "Baza de date cu tokenul nu poate fi folosită; verificați configurarea (database: calea fișierului, sau odbc: șirul de conectare) și că fișierul sau serverul este accesibil.", "The token database cannot be used; check the configuration (database: the file's path, or odbc: the connection string) and that the file or the server is reachable."),
    row!(ANAF_ERR_DATABASE_LOCKED, "Baza de date cu tokenul este blocată de alt program; încercați din nou.", "The token database is locked by another program; try again."),
    row!(ANAF_ERR_DATABASE_READONLY, "Baza de date cu tokenul este doar în citire; verificați drepturile pe fișier și pe folder (sau ale utilizatorului bazei de date pe tabelele anaf_*).", "The token database is read-only; check the permissions of the file and its folder (or the database user's rights on the anaf_* tables)."),
    row!(ANAF_ERR_DATABASE_NEWER, "Baza de date a fost creată de o versiune mai nouă a anaf-bridge; actualizați DLL-ul.", "The database was created by a newer anaf-bridge; update the DLL."),
    row!(ANAF_ERR_DATABASE_CORRUPT, "Baza de date cu tokenul este deteriorată.", "The token database is damaged."),
    row!(ANAF_ERR_NO_TOKEN, "Nu există token ANAF pentru această firmă; generați unul cu semnătura electronică.", "There is no ANAF token for this company; generate one with the certificate."),
    row!(ANAF_ERR_LOGIN_REQUIRED, "Tokenul ANAF a expirat; generați un token nou cu semnătura electronică (stick-ul USB).", "The ANAF token has expired; generate a new one with the certificate (USB token)."),
    row!(ANAF_ERR_INVALID_CLIENT, "ANAF nu recunoaște Client ID / Client Secret; copiați-le din nou din SPV (Editare profil Oauth).", "ANAF does not accept the Client ID / Client Secret; copy them again from SPV (Editare profil Oauth)."),
    row!(ANAF_ERR_OAUTH, "Serverul de autentificare ANAF a refuzat cererea.", "ANAF's identity provider refused the request."),
    row!(ANAF_ERR_ACCESS_DENIED, "Acces refuzat de ANAF (\"Acces denied\"): verificați că stick-ul cu semnătura este conectat (pe Remote Desktop: smart card redirecționat), că seria certificatului din ERP este corectă și că certificatul este înrolat în SPV pentru acest CIF. Butonul de diagnoză arată ce lipsește.", "Access denied by ANAF (\"Acces denied\"): check that the USB token is plugged in (on Remote Desktop: smart card redirected), that the certificate serial in the ERP is right and that the certificate is enrolled in SPV for this CIF. The diagnose button shows what is missing."),
    row!(ANAF_ERR_CANCELLED, "Operațiunea a fost anulată de utilizator.", "The operation was cancelled by the user."),
    row!(ANAF_ERR_TIMEOUT, "Timpul de așteptare a expirat.", "The operation timed out."),
    row!(ANAF_ERR_CERT_NOT_FOUND, "Certificatul cu seria configurată nu a fost găsit; verificați seria și că stick-ul este conectat.", "No certificate with the configured serial number was found; check the serial and that the USB token is plugged in."),
    row!(ANAF_ERR_TLS, "Conexiunea securizată (TLS) cu ANAF a eșuat: verificați data și ora calculatorului; un antivirus sau firewall care inspectează HTTPS trebuie să aibă certificatul instalat în Windows.", "The secure (TLS) connection to ANAF failed: check the computer's date and time; an antivirus or firewall that inspects HTTPS must have its certificate installed in Windows."),
    row!(ANAF_ERR_WEBVIEW2_MISSING, "Lipsește Microsoft Edge WebView2 Runtime; instalați Evergreen WebView2 Runtime de la Microsoft.", "The Microsoft Edge WebView2 Runtime is missing; install the Evergreen WebView2 Runtime from Microsoft."),
    row!(ANAF_ERR_STATE_MISMATCH, "Răspunsul de autentificare nu aparține acestei cereri; reluați generarea tokenului.", "The login answer does not belong to this request; start the token generation again."),
    row!(ANAF_ERR_CODE_EXPIRED, "Codul de autorizare a expirat sau a fost deja folosit (este valabil 60 de secunde); reluați generarea tokenului.", "The authorization code expired or was already used (it is valid for 60 seconds); start again."),
    row!(ANAF_ERR_REDIRECT_MISMATCH, "Callback URL diferă de cel înregistrat în SPV; copiați-l exact din SPV.", "The redirect URI differs from the callback registered in SPV; copy it exactly from SPV."),
    row!(ANAF_ERR_WINDOW, "Fereastra de autentificare nu a putut fi deschisă.", "The login window could not be opened."),
    row!(ANAF_ERR_NETWORK, "Serverul ANAF nu poate fi contactat; verificați conexiunea la internet, proxy-ul și firewall-ul.", "ANAF cannot be reached; check the internet connection, proxy and firewall."),
    row!(ANAF_ERR_HTTP, "ANAF a răspuns cu o eroare HTTP neașteptată; încercați mai târziu.", "ANAF answered with an unexpected HTTP error; try again later."),
    row!(ANAF_ERR_UNAUTHORIZED, "ANAF a refuzat tokenul pentru această operațiune (401/403): tokenul nu are drepturi pe acest CIF sau serviciu.", "ANAF refused the token for this call (401/403): not entitled to this CIF or service."),
    row!(ANAF_ERR_RATE_LIMITED, "Prea multe cereri către ANAF într-un minut; așteptați puțin.", "Too many requests to ANAF in a minute; wait a little."),
    row!(ANAF_ERR_QUOTA_EXCEEDED, "Limita zilnică ANAF pentru această operațiune a fost atinsă; încercați mâine.", "ANAF's daily limit for this call is used up; try tomorrow."),
    row!(ANAF_ERR_HTML_RESPONSE, "A venit o pagină HTML în locul răspunsului ANAF (firewall, proxy sau mentenanță ANAF).", "An HTML page came back instead of ANAF's answer (firewall, proxy or ANAF maintenance)."),
    row!(ANAF_ERR_BAD_RESPONSE, "Răspunsul ANAF nu a putut fi interpretat.", "ANAF's answer could not be understood."),
    row!(ANAF_ERR_REJECTED, "ANAF a respins cererea.", "ANAF rejected the request."),
    row!(ANAF_ERR_UPLOAD_UNCERTAIN, "Același fișier a mai fost trimis, dar răspunsul ANAF nu a venit (timeout, conexiune întreruptă sau program închis): ANAF poate să îl fi primit, deci nu a fost trimis din nou. Verificați lista de mesaje din ultimele zile; dacă factura nu apare, retrimiteți cu opțiunea \"force\".", "The same file was sent before but ANAF's answer never came (timeout, broken connection or closed program): ANAF may have received it, so it was not sent again. Check the message list of the last days; if the invoice is not there, upload again with the \"force\" option."),
    row!(ANAF_ERR_FILE, "Fișierul nu poate fi citit sau scris.", "The file cannot be read or written."),
    row!(ANAF_ERR_NOT_XML, "Documentul nu este un XML valid.", "The document is not well-formed XML."),
    row!(ANAF_ERR_TOO_LARGE, "Documentul depășește limita ANAF de 10 MB.", "The document exceeds ANAF's 10 MB limit."),
    row!(ANAF_ERR_LINK_EXPIRED, "Linkul pentru generarea tokenului a expirat (valabil 5 ore); generați un link nou.", "The token link expired (valid 5 hours); create a new link."),
    row!(ANAF_ERR_LINK_FAILED, "Tokenul nu a putut fi generat în browser; închideți și redeschideți browserul și verificați că stick-ul este conectat.", "The token could not be generated in the browser; close and reopen the browser and check the USB token is plugged in."),
    row!(ANAF_ERR_NO_LINK, "Nu există un link de generare token în curs.", "No token link is in progress."),
    row!(ANAF_ERR_SYNC_BUSY, "Inbox-ul acestei firme se sincronizează chiar acum pe altă stație sau în alt program.", "This company's inbox is being synced right now by another workstation or program."),
    row!(ANAF_ERR_NO_MESSAGE, "Mesajul nu este în inbox (sau nu a fost descărcat încă).", "The message is not in the inbox (or was not downloaded yet)."),
    row!(ANAF_ERR_NO_SYNC, "Nu a fost pornită o sincronizare a inbox-ului pe acest client (sau rezultatul ei a fost deja citit).", "No inbox sync was begun on this client (or its outcome was already read)."),
    row!(ANAF_ERR_BATCH_INCOMPLETE, "Unele facturi ale lotului nu sunt la ANAF; răspunsul JSON arată care și de ce.", "Some invoices of the batch are not at ANAF; the JSON answer says which and why."),
    row!(ANAF_ERR_BATCH_BUSY, "Un lot pornit cu anaf_upload_batch_begin pe acest client rulează încă; urmăriți-l cu anaf_upload_batch_poll.", "A batch begun with anaf_upload_batch_begin on this client is still running; follow it with anaf_upload_batch_poll."),
    row!(ANAF_ERR_NO_BATCH, "Nu a fost pornit un lot pe acest client (sau rezultatul lui a fost deja citit).", "No batch was begun on this client (or its outcome was already read)."),
];

/// What an unknown code says.
const UNKNOWN: (i32, &str, &str, &str) = (
    0,
    "ANAF_UNKNOWN",
    "Cod de stare necunoscut.",
    "Unknown status code.",
);

/// Every status code, for tests and bindings that enumerate them.
pub fn all() -> impl Iterator<Item = i32> {
    TABLE.iter().map(|r| r.0)
}

fn texts(code: i32) -> (&'static str, &'static str, &'static str) {
    let (_, name, ro, en) = TABLE
        .iter()
        .find(|r| r.0 == code)
        .copied()
        .unwrap_or(UNKNOWN);
    (name, ro, en)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_name_and_both_messages() {
        let mut seen = std::collections::HashSet::new();
        for c in all() {
            assert!(seen.insert(c), "duplicate code {c}");
            assert_ne!(name(c), "ANAF_UNKNOWN", "code {c} has no text");
            assert!(!message(c, Lang::Ro).is_empty());
            assert!(!message(c, Lang::En).is_empty());
            assert_ne!(message(c, Lang::Ro), message(c, Lang::En));
        }
        assert_eq!(name(12345), "ANAF_UNKNOWN");
    }

    #[test]
    fn every_code_declared_here_is_in_the_table() {
        let declared: Vec<&str> = include_str!("status.rs")
            .lines()
            .filter_map(|l| l.strip_prefix("pub const "))
            .filter_map(|l| l.strip_suffix(';')?.split_once(": i32 = "))
            .map(|(n, _)| n)
            .collect();
        assert!(declared.len() > 40, "{declared:?}");
        for n in declared {
            assert!(
                TABLE.iter().any(|r| r.1 == n),
                "{n} is declared but not in TABLE (no name, no text, not in all())"
            );
        }
    }
}
