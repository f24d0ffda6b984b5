//! The pages the person holding the USB token sees, in Romanian and then English on the
//! same page (the link may travel by e-mail to anyone).

/// Escapes text for HTML element content and attribute values.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            _ => o.push(c),
        }
    }
    o
}

fn page(title: &str, kind: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"ro\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<meta name=\"robots\" content=\"noindex\"><title>{title}</title>\
<style>body{{font-family:Segoe UI,Arial,sans-serif;max-width:44em;margin:2em auto;padding:0 1em;color:#222}}\
h1{{font-size:1.4em}} .ok{{color:#1a7f37}} .err{{color:#b42318}} .en{{color:#555;border-top:1px solid #ddd;margin-top:2em;padding-top:1em}}\
.btn{{display:inline-block;background:#0b5cad;color:#fff;padding:.7em 1.4em;border:0;border-radius:4px;cursor:pointer;font-size:1.1em}}\
li{{margin:.3em 0}}</style></head><body class=\"{kind}\">{body}</body></html>\n"
    )
}

fn remaining(seconds: i64) -> (String, String) {
    let s = seconds.max(0);
    let (h, m) = (s / 3600, (s % 3600) / 60);
    (format!("{h} h {m} min"), format!("{h} h {m} min"))
}

/// The landing page of `/l/{id}`: who asked (the customer the relay verified by its
/// installation key, named as in the vendor's configuration), what is about to happen,
/// then the button to ANAF.
pub fn landing(
    start_href: &str,
    cif: Option<&str>,
    customer: &str,
    vendor_host: &str,
    left_seconds: i64,
) -> String {
    let (ro_left, en_left) = remaining(left_seconds);
    let (customer, host) = (esc(customer), esc(vendor_host));
    let cif_ro = cif
        .map(|c| format!(" pentru CIF {}", esc(c)))
        .unwrap_or_default();
    let cif_en = cif
        .map(|c| format!(" for CIF {}", esc(c)))
        .unwrap_or_default();
    let href = esc(start_href);
    page(
        "Generare token ANAF / ANAF token",
        "landing",
        &format!(
            "<h1>Generare token ANAF{cif_ro}</h1>\
<p>Cerut de <b>{customer}</b>, client verificat de furnizorul programului ({host}).</p>\
<p>Acest link generează tokenul de acces ANAF (e-Factura, e-Transport) al firmei; programul de contabilitate (ERP) al acestui client îl preia singur. Continuați doar dacă îl cunoașteți și vă așteptați la această cerere.</p>\
<ul><li>Introduceți stick-ul (tokenul USB) cu semnătura electronică în acest calculator.</li>\
<li>Recomandăm Google Chrome. Alegeți certificatul firmei când vi se cere, apoi introduceți PIN-ul.</li>\
<li>Linkul mai este valabil {ro_left}.</li></ul>\
<form method=\"post\" action=\"{href}\"><button class=\"btn\" id=\"start\" type=\"submit\">Continuă la ANAF / Continue to ANAF</button></form>\
<div class=\"en\" lang=\"en\"><h1>ANAF token{cif_en}</h1>\
<p>Requested by <b>{customer}</b>, a customer verified by the accounting program's vendor ({host}).</p>\
<p>This link generates the company's ANAF access token (e-Factura, e-Transport); this customer's accounting program (ERP) imports it by itself. Continue only if you know them and expect this request.</p>\
<ul><li>Plug the USB token holding the qualified certificate into this computer.</li>\
<li>Google Chrome is recommended. Pick the company's certificate when asked, then type the PIN.</li>\
<li>The link is valid for another {en_left}.</li></ul></div>"
        ),
    )
}

/// After the token was generated and sealed for the ERP.
pub fn success() -> String {
    page(
        "Token ANAF generat / ANAF token generated",
        "success",
        "<h1 class=\"ok\">Tokenul ANAF a fost generat cu succes.</h1>\
<p>Programul (ERP) îl preia automat în baza de date dacă fereastra „Generare token ANAF” este deschisă și nu au trecut cele 5 ore de valabilitate a linkului. Puteți închide această pagină și scoate stick-ul.</p>\
<div class=\"en\" lang=\"en\"><h1 class=\"ok\">The ANAF token was generated.</h1>\
<p>The ERP imports it into its database by itself while its token form is open, if the link's 5 hours have not passed. You may close this page and unplug the USB token.</p></div>",
    )
}

/// The browser attempt failed: what happened and what to try.
pub fn failure(reason: &str, detail: Option<&str>, can_retry_href: Option<&str>) -> String {
    let (ro, en) = match reason {
        "access_denied" => (
            "ANAF a refuzat accesul: certificatul nu a fost prezentat sau nu este înrolat în SPV pentru această firmă.",
            "ANAF denied access: the certificate was not presented or is not enrolled in SPV for this company.",
        ),
        "code_expired" => (
            "Codul primit de la ANAF a expirat sau a fost deja folosit.",
            "The code from ANAF expired or was already used.",
        ),
        "invalid_client" => (
            "ANAF nu recunoaște aplicația (Client ID / Client Secret). Anunțați furnizorul programului.",
            "ANAF does not recognise the application (Client ID / Client Secret). Tell the ERP vendor.",
        ),
        "redirect_mismatch" => (
            "Adresa de callback nu corespunde celei înregistrate în SPV. Anunțați furnizorul programului.",
            "The callback address does not match the one registered in SPV. Tell the ERP vendor.",
        ),
        "network" => (
            "Serverul ANAF nu a putut fi contactat pentru finalizare.",
            "ANAF's server could not be reached to finish.",
        ),
        _ => (
            "Tokenul nu a putut fi generat.",
            "The token could not be generated.",
        ),
    };
    let detail = detail
        .filter(|d| !d.is_empty())
        .map(|d| format!("<p><small>{}</small></p>", esc(d)))
        .unwrap_or_default();
    let (retry_ro, retry_en) = match can_retry_href {
        Some(h) => (
            format!(
                "<li>Apoi <a href=\"{}\">deschideți linkul din nou</a>.</li>",
                esc(h)
            ),
            format!(
                "<li>Then <a href=\"{}\">open the link again</a>.</li>",
                esc(h)
            ),
        ),
        None => (String::new(), String::new()),
    };
    page(
        "Eroare token ANAF / ANAF token error",
        "failure",
        &format!(
            "<h1 class=\"err\">Tokenul ANAF nu a putut fi generat.</h1><p>{ro}</p>{detail}\
<p>Ce puteți încerca:</p><ul>\
<li>Verificați că stick-ul cu semnătura electronică este introdus și că driverul lui este instalat.</li>\
<li>Închideți complet browserul și redeschideți-l (pentru a goli memoria cache și alegerea certificatului), apoi deschideți linkul din nou.</li>\
<li>Verificați în SPV că certificatul este înrolat pe un cod fiscal valid.</li>{retry_ro}</ul>\
<div class=\"en\" lang=\"en\"><h1 class=\"err\">The ANAF token could not be generated.</h1><p>{en}</p>\
<p>What to try:</p><ul>\
<li>Check that the USB token is plugged in and its driver is installed.</li>\
<li>Close the browser completely and reopen it (to clear its cache and the remembered certificate choice), then open the link again.</li>\
<li>Check in SPV that the certificate is enrolled for a valid tax ID (CIF).</li>{retry_en}</ul></div>"
        ),
    )
}

/// The link is unknown, used up or past its 5 hours.
pub fn gone(expired: bool) -> String {
    let (ro, en) = if expired {
        (
            "Linkul a expirat (este valabil 5 ore de la generare).",
            "The link has expired (it is valid for 5 hours from its creation).",
        )
    } else {
        (
            "Linkul nu este valid sau a fost deja folosit.",
            "The link is not valid or was already used.",
        )
    };
    page(
        "Link ANAF invalid / ANAF link not valid",
        "gone",
        &format!(
            "<h1 class=\"err\">{ro}</h1><p>Cereți un link nou din programul de contabilitate (ERP).</p>\
<div class=\"en\" lang=\"en\"><h1 class=\"err\">{en}</h1><p>Ask for a new link from the accounting program (ERP).</p></div>"
        ),
    )
}
