//! The company lookup of the C API: ANAF's public registry of VAT payers, so that an ERP
//! fills in a partner from its CIF (README "Company lookup").

use super::{entry, give_json, opt_text, out, session, text, AnafClient};
use crate::client::lookup::Lookup;
use crate::status::ANAF_OK;
use std::ffi::c_char;

/// Looks companies up in ANAF's registry of VAT payers (no token needed).
/// `cifs_json`: a JSON array of CIFs as the ERP holds them (`"RO14399840"`, `"14399840"` or
/// `14399840`); `date`: `YYYY-MM-DD` the data should describe, or NULL/empty for today.
/// More than 100 CIFs are sent 100 at a time, one request a second (ANAF's limits).
/// `*out_json`: `{"date","found":[{"cif","name","address","vat_payer","e_factura",…,
/// "anaf":{…ANAF's record…}}],"not_found":["…"],"invalid":[{"cif","message"}],"requests":n}`.
///
/// # Safety
/// `client` is NULL or a handle from `anaf_open`; `cifs_json` and `date` are NULL or
/// NUL-terminated strings; `out_json` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn anaf_company_lookup(
    client: *mut AnafClient,
    cifs_json: *const c_char,
    date: *const c_char,
    out_json: *mut *mut c_char,
) -> i32 {
    entry(|| {
        let slot = out(out_json, "out_json")?;
        let q = Lookup::parse(text(cifs_json, "cifs_json")?, opt_text(date, "date")?)?;
        let v = session(client)?.company_lookup(&q)?;
        give_json(slot, &v);
        Ok(ANAF_OK)
    })
}
