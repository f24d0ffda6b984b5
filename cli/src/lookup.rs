//! `anaf lookup CIF…`: a company from ANAF's public registry of VAT payers (the library's
//! `anaf_company_lookup`), as the ERP's partner form would fill it in.

use crate::exit;
use crate::out::{self, Ctx};
use anaf_bridge::client::lookup::Lookup;
use anaf_bridge::error::Result;
use serde_json::Value;

#[derive(clap::Args)]
pub struct Args {
    /// CIFs as invoices print them (RO prefix and spaces accepted)
    #[arg(required = true, value_name = "CIF")]
    cifs: Vec<String>,
    /// The day the data should describe (YYYY-MM-DD; default today)
    #[arg(long)]
    date: Option<String>,
}

pub fn run(ctx: &Ctx, a: Args) -> Result<u8> {
    let list = serde_json::to_string(&a.cifs).unwrap_or_default();
    let q = Lookup::parse(&list, a.date.as_deref())?;
    let s = out::open(ctx)?;
    let spinner = ctx.spinner(
        ctx.t("Întreb registrul ANAF…", "Asking ANAF's registry…")
            .to_string(),
    );
    let v = s.company_lookup(&q)?;
    spinner.finish_and_clear();
    let none = v["not_found"].as_array().is_some_and(|n| !n.is_empty())
        || v["invalid"].as_array().is_some_and(|n| !n.is_empty());
    if ctx.json {
        out::print_json(&v);
    } else {
        let yes_no = |x: &Value| match x.as_bool() {
            Some(true) => ctx.t("da", "yes").to_string(),
            Some(false) => ctx.t("nu", "no").to_string(),
            None => "-".into(),
        };
        for c in v["found"].as_array().into_iter().flatten() {
            out::pairs(&[
                ("CIF", out::cell(&c["cif"])),
                (ctx.t("Denumire", "Name"), out::cell(&c["name"])),
                (ctx.t("Adresă", "Address"), out::cell(&c["address"])),
                (
                    ctx.t("Nr. Reg. Com.", "Trade register"),
                    out::cell(&c["reg_com"]),
                ),
                (ctx.t("Plătitor TVA", "VAT payer"), yes_no(&c["vat_payer"])),
                (
                    ctx.t("TVA la încasare", "VAT on receipt"),
                    yes_no(&c["vat_on_receipt"]),
                ),
                (ctx.t("TVA defalcat", "Split VAT"), yes_no(&c["split_vat"])),
                (ctx.t("Inactiv", "Inactive"), yes_no(&c["inactive"])),
                ("e-Factura", yes_no(&c["e_factura"])),
            ]);
            say!("");
        }
        for c in v["not_found"].as_array().into_iter().flatten() {
            say!(
                "{} {}",
                out::cell(c),
                ctx.t("— nu este în registrul ANAF", "— not in ANAF's registry")
            );
        }
        for c in v["invalid"].as_array().into_iter().flatten() {
            let m = if ctx.lang == anaf_bridge::status::Lang::En {
                &c["message_en"]
            } else {
                &c["message"]
            };
            say!("{} — {}", out::cell(&c["cif"]), out::cell(m));
        }
    }
    // Some CIF not found or not a CIF: the caller's input to look at.
    Ok(if none { exit::USAGE } else { exit::OK })
}
