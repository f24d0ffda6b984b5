//! The fields an ERP imports, read from an e-Factura invoice: UBL 2.1 (Invoice, CreditNote)
//! and UN/CEFACT CII (CrossIndustryInvoice), as CIUS-RO uses them. Elements are matched by
//! local name along their path, so any namespace prefix works; the namespace of the root
//! must still be the standard's (an invoice in an unexpected namespace is reported, not
//! guessed at).

use crate::store::inbox::Parsed;
use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::NsReader;
use std::collections::HashMap;

const UBL_INVOICE: &str = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2";
const UBL_CREDIT_NOTE: &str = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2";
const CII: &str = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100";

/// The first text of every element path (`Invoice/cbc:ID` read as `Invoice/ID`), how many
/// times each path occurs, and the root's namespace.
struct Paths {
    root_ns: String,
    first: HashMap<String, String>,
    count: HashMap<String, i64>,
}

fn read_paths(xml: &[u8]) -> Result<Paths, String> {
    let xml = xml.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(xml);
    std::str::from_utf8(xml).map_err(|e| format!("invalid UTF-8 at byte {}", e.valid_up_to()))?;
    let mut r = NsReader::from_reader(xml);
    r.config_mut().check_end_names = true;
    let mut stack: Vec<String> = Vec::new();
    let mut out = Paths {
        root_ns: String::new(),
        first: HashMap::new(),
        count: HashMap::new(),
    };
    let mut text = String::new();
    loop {
        let pos = r.buffer_position();
        let (ns, ev) = r
            .read_resolved_event()
            .map_err(|e| format!("{e} @ {pos}"))?;
        match ev {
            Event::Start(ref e) | Event::Empty(ref e) => {
                if stack.is_empty() {
                    if let ResolveResult::Bound(n) = ns {
                        out.root_ns = String::from_utf8_lossy(n.as_ref()).into_owned();
                    }
                }
                stack.push(String::from_utf8_lossy(e.local_name().as_ref()).into_owned());
                let path = stack.join("/");
                *out.count.entry(path).or_default() += 1;
                text.clear();
                if matches!(ev, Event::Empty(_)) {
                    stack.pop();
                }
            }
            Event::Text(t) => text.push_str(&t.xml10_content().map_err(|e| e.to_string())?),
            Event::CData(t) => text.push_str(&t.decode().map_err(|e| e.to_string())?),
            Event::GeneralRef(g) => {
                if let Some(c) = g.resolve_char_ref().map_err(|e| e.to_string())? {
                    text.push(c);
                } else {
                    let name = g.decode().map_err(|e| e.to_string())?;
                    let value = quick_xml::escape::resolve_predefined_entity(&name)
                        .ok_or_else(|| format!("unknown entity &{name};"))?;
                    text.push_str(value);
                }
            }
            Event::End(_) => {
                let path = stack.join("/");
                let t = text.trim();
                if !t.is_empty() {
                    out.first.entry(path).or_insert_with(|| t.to_string());
                }
                text.clear();
                stack.pop();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !stack.is_empty() {
        return Err("truncated document".into());
    }
    Ok(out)
}

impl Paths {
    fn get(&self, path: &str) -> Option<String> {
        self.first.get(path).cloned()
    }

    fn any(&self, paths: &[&str]) -> Option<String> {
        paths.iter().find_map(|p| self.get(p))
    }
}

/// Reads an invoice's fields. What cannot be read is said in `parse_error`; the fields
/// read until then are kept.
pub fn parse(xml: &[u8]) -> Parsed {
    let paths = match read_paths(xml) {
        Ok(p) => p,
        Err(e) => {
            return Parsed {
                parse_error: Some(format!(
                    "XML-ul nu poate fi citit / the XML cannot be read: {e}"
                )),
                ..Parsed::default()
            }
        }
    };
    let root = paths
        .count
        .keys()
        .find(|k| !k.contains('/'))
        .cloned()
        .unwrap_or_default();
    match (root.as_str(), paths.root_ns.as_str()) {
        ("Invoice", UBL_INVOICE) => ubl(&paths, "Invoice", "invoice", "InvoiceLine"),
        ("CreditNote", UBL_CREDIT_NOTE) => ubl(&paths, "CreditNote", "credit_note", "CreditNoteLine"),
        ("CrossIndustryInvoice", CII) => cii(&paths),
        (root, ns) => Parsed {
            parse_error: Some(format!(
                "Nu este o factură UBL sau CII (rădăcina {{{ns}}}{root}) / not a UBL or CII invoice (root {{{ns}}}{root})"
            )),
            ..Parsed::default()
        },
    }
}

fn ubl(p: &Paths, root: &str, kind: &str, line: &str) -> Parsed {
    let party = |side: &str, leaf: &[&str]| {
        let paths: Vec<String> = leaf
            .iter()
            .map(|l| format!("{root}/{side}/Party/{l}"))
            .collect();
        let refs: Vec<&str> = paths.iter().map(String::as_str).collect();
        p.any(&refs)
    };
    let vat = ["PartyTaxScheme/CompanyID", "PartyLegalEntity/CompanyID"];
    let name = [
        "PartyLegalEntity/RegistrationName",
        "PartyName/Name",
        "PartyTaxScheme/RegistrationName",
    ];
    let mut out = Parsed {
        syntax: Some("UBL".into()),
        doc_kind: Some(kind.into()),
        invoice_number: p.get(&format!("{root}/ID")),
        issue_date: p.get(&format!("{root}/IssueDate")),
        due_date: p.any(&[
            &format!("{root}/DueDate"),
            &format!("{root}/PaymentMeans/PaymentDueDate"),
        ]),
        currency: p.get(&format!("{root}/DocumentCurrencyCode")),
        supplier_vat: party("AccountingSupplierParty", &vat),
        supplier_name: party("AccountingSupplierParty", &name),
        customer_vat: party("AccountingCustomerParty", &vat),
        customer_name: party("AccountingCustomerParty", &name),
        total_without_vat: p.get(&format!("{root}/LegalMonetaryTotal/TaxExclusiveAmount")),
        vat_total: p.get(&format!("{root}/TaxTotal/TaxAmount")),
        payable: p.get(&format!("{root}/LegalMonetaryTotal/PayableAmount")),
        line_count: Some(p.count.get(&format!("{root}/{line}")).copied().unwrap_or(0)),
        parse_error: None,
        anaf_errors: None,
    };
    out.parse_error = missing(&out);
    out
}

fn cii(p: &Paths) -> Parsed {
    let doc = "CrossIndustryInvoice/ExchangedDocument";
    let tx = "CrossIndustryInvoice/SupplyChainTradeTransaction";
    let agreement = format!("{tx}/ApplicableHeaderTradeAgreement");
    let settlement = format!("{tx}/ApplicableHeaderTradeSettlement");
    let sum = format!("{settlement}/SpecifiedTradeSettlementHeaderMonetarySummation");
    let party = |who: &str, leaf: &str| p.get(&format!("{agreement}/{who}/{leaf}"));
    // 381 is a credit note (UNTDID 1001); 380, 384, 389, 751 are invoices.
    let kind = match p.get(&format!("{doc}/TypeCode")).as_deref() {
        Some("381") => "credit_note",
        _ => "invoice",
    };
    let mut out = Parsed {
        syntax: Some("CII".into()),
        doc_kind: Some(kind.into()),
        invoice_number: p.get(&format!("{doc}/ID")),
        issue_date: p
            .get(&format!("{doc}/IssueDateTime/DateTimeString"))
            .map(|d| iso_date(&d)),
        due_date: p
            .get(&format!(
                "{settlement}/SpecifiedTradePaymentTerms/DueDateDateTime/DateTimeString"
            ))
            .map(|d| iso_date(&d)),
        currency: p.get(&format!("{settlement}/InvoiceCurrencyCode")),
        supplier_vat: party("SellerTradeParty", "SpecifiedTaxRegistration/ID"),
        supplier_name: party("SellerTradeParty", "Name"),
        customer_vat: party("BuyerTradeParty", "SpecifiedTaxRegistration/ID"),
        customer_name: party("BuyerTradeParty", "Name"),
        total_without_vat: p.get(&format!("{sum}/TaxBasisTotalAmount")),
        vat_total: p.get(&format!("{sum}/TaxTotalAmount")),
        payable: p.get(&format!("{sum}/DuePayableAmount")),
        line_count: Some(
            p.count
                .get(&format!("{tx}/IncludedSupplyChainTradeLineItem"))
                .copied()
                .unwrap_or(0),
        ),
        parse_error: None,
        anaf_errors: None,
    };
    out.parse_error = missing(&out);
    out
}

/// ANAF's error list in the XML of an `ERORI FACTURA` message (`<Error errorMessage=…/>`
/// under its `header`), in order; empty when there is none or the XML cannot be read.
pub fn anaf_errors(xml: &[u8]) -> Vec<String> {
    let mut r = NsReader::from_reader(xml.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(xml));
    let mut out = Vec::new();
    while let Ok((_, ev)) = r.read_resolved_event() {
        match ev {
            Event::Start(ref e) | Event::Empty(ref e)
                if matches!(e.local_name().as_ref(), b"Error" | b"Errors") =>
            {
                for a in e.attributes().flatten() {
                    if a.key.local_name().as_ref() == b"errorMessage" {
                        if let Ok(v) = a.normalized_value(quick_xml::XmlVersion::default()) {
                            out.push(v.into_owned());
                        }
                    }
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    out
}

/// CII dates are `YYYYMMDD` (format 102): as `YYYY-MM-DD`, like UBL's.
fn iso_date(d: &str) -> String {
    if d.len() == 8 && d.bytes().all(|b| b.is_ascii_digit()) {
        format!("{}-{}-{}", &d[..4], &d[4..6], &d[6..])
    } else {
        d.to_string()
    }
}

/// The fields every CIUS-RO invoice has, named when absent.
fn missing(p: &Parsed) -> Option<String> {
    let mut gone = Vec::new();
    for (name, v) in [
        ("number", &p.invoice_number),
        ("issue_date", &p.issue_date),
        ("currency", &p.currency),
        ("supplier", &p.supplier_vat),
        ("payable", &p.payable),
    ] {
        if v.is_none() {
            gone.push(name);
        }
    }
    (!gone.is_empty()).then(|| format!("Lipsesc câmpuri / missing fields: {}", gone.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    const UBL: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
 xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
 xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">
 <cbc:ID>FX-101</cbc:ID><cbc:IssueDate>2026-11-03</cbc:IssueDate><cbc:DueDate>2026-12-03</cbc:DueDate>
 <cbc:DocumentCurrencyCode>RON</cbc:DocumentCurrencyCode>
 <cac:AccountingSupplierParty><cac:Party><cac:PartyTaxScheme><cbc:CompanyID>RO14399840</cbc:CompanyID></cac:PartyTaxScheme>
  <cac:PartyLegalEntity><cbc:RegistrationName>Furnizor &amp; Fiul SRL</cbc:RegistrationName></cac:PartyLegalEntity></cac:Party></cac:AccountingSupplierParty>
 <cac:AccountingCustomerParty><cac:Party><cac:PartyLegalEntity><cbc:RegistrationName>Client SA</cbc:RegistrationName><cbc:CompanyID>1234567</cbc:CompanyID></cac:PartyLegalEntity></cac:Party></cac:AccountingCustomerParty>
 <cac:TaxTotal><cbc:TaxAmount currencyID="RON">19.00</cbc:TaxAmount></cac:TaxTotal>
 <cac:LegalMonetaryTotal><cbc:TaxExclusiveAmount currencyID="RON">100.00</cbc:TaxExclusiveAmount><cbc:PayableAmount currencyID="RON">119.00</cbc:PayableAmount></cac:LegalMonetaryTotal>
 <cac:InvoiceLine><cbc:ID>1</cbc:ID></cac:InvoiceLine><cac:InvoiceLine><cbc:ID>2</cbc:ID></cac:InvoiceLine>
</Invoice>"#;

    #[test]
    fn ubl_invoice_fields() {
        let p = parse(UBL.as_bytes());
        assert_eq!(p.parse_error, None);
        assert_eq!(p.syntax.as_deref(), Some("UBL"));
        assert_eq!(p.doc_kind.as_deref(), Some("invoice"));
        assert_eq!(p.invoice_number.as_deref(), Some("FX-101"));
        assert_eq!(p.issue_date.as_deref(), Some("2026-11-03"));
        assert_eq!(p.due_date.as_deref(), Some("2026-12-03"));
        assert_eq!(p.currency.as_deref(), Some("RON"));
        assert_eq!(p.supplier_vat.as_deref(), Some("RO14399840"));
        assert_eq!(p.supplier_name.as_deref(), Some("Furnizor & Fiul SRL"));
        assert_eq!(p.customer_vat.as_deref(), Some("1234567"));
        assert_eq!(p.customer_name.as_deref(), Some("Client SA"));
        assert_eq!(p.total_without_vat.as_deref(), Some("100.00"));
        assert_eq!(p.vat_total.as_deref(), Some("19.00"));
        assert_eq!(p.payable.as_deref(), Some("119.00"));
        assert_eq!(p.line_count, Some(2));
    }

    #[test]
    fn credit_note_and_cii() {
        let cn = UBL
            .replace("Invoice-2", "CreditNote-2")
            .replace("<Invoice ", "<CreditNote ")
            .replace("</Invoice>", "</CreditNote>")
            .replace("InvoiceLine", "CreditNoteLine");
        let p = parse(cn.as_bytes());
        assert_eq!(p.doc_kind.as_deref(), Some("credit_note"));
        assert_eq!(p.line_count, Some(2));
        let cii = r#"<rsm:CrossIndustryInvoice xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
 xmlns:ram="urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
 xmlns:udt="urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100">
 <rsm:ExchangedDocument><ram:ID>C-7</ram:ID><ram:TypeCode>381</ram:TypeCode>
  <ram:IssueDateTime><udt:DateTimeString format="102">20261105</udt:DateTimeString></ram:IssueDateTime></rsm:ExchangedDocument>
 <rsm:SupplyChainTradeTransaction>
  <ram:IncludedSupplyChainTradeLineItem/><ram:IncludedSupplyChainTradeLineItem/><ram:IncludedSupplyChainTradeLineItem/>
  <ram:ApplicableHeaderTradeAgreement>
   <ram:SellerTradeParty><ram:Name>Vanzator SRL</ram:Name><ram:SpecifiedTaxRegistration><ram:ID schemeID="VA">RO14399840</ram:ID></ram:SpecifiedTaxRegistration></ram:SellerTradeParty>
   <ram:BuyerTradeParty><ram:Name>Cumparator SRL</ram:Name></ram:BuyerTradeParty>
  </ram:ApplicableHeaderTradeAgreement>
  <ram:ApplicableHeaderTradeSettlement><ram:InvoiceCurrencyCode>EUR</ram:InvoiceCurrencyCode>
   <ram:SpecifiedTradePaymentTerms><ram:DueDateDateTime><udt:DateTimeString format="102">20261205</udt:DateTimeString></ram:DueDateDateTime></ram:SpecifiedTradePaymentTerms>
   <ram:SpecifiedTradeSettlementHeaderMonetarySummation><ram:TaxBasisTotalAmount>-50.00</ram:TaxBasisTotalAmount><ram:TaxTotalAmount currencyID="EUR">-9.50</ram:TaxTotalAmount><ram:DuePayableAmount>-59.50</ram:DuePayableAmount></ram:SpecifiedTradeSettlementHeaderMonetarySummation>
  </ram:ApplicableHeaderTradeSettlement></rsm:SupplyChainTradeTransaction></rsm:CrossIndustryInvoice>"#;
        let p = parse(cii.as_bytes());
        assert_eq!(p.parse_error, None, "{p:?}");
        assert_eq!(
            (
                p.syntax.as_deref(),
                p.doc_kind.as_deref(),
                p.invoice_number.as_deref()
            ),
            (Some("CII"), Some("credit_note"), Some("C-7"))
        );
        assert_eq!(p.issue_date.as_deref(), Some("2026-11-05"));
        assert_eq!(p.due_date.as_deref(), Some("2026-12-05"));
        assert_eq!(p.currency.as_deref(), Some("EUR"));
        assert_eq!(p.supplier_name.as_deref(), Some("Vanzator SRL"));
        assert_eq!(p.customer_name.as_deref(), Some("Cumparator SRL"));
        assert_eq!(p.payable.as_deref(), Some("-59.50"));
        assert_eq!(p.line_count, Some(3));
    }

    #[test]
    fn what_is_not_an_invoice_says_so() {
        let p = parse(b"not xml at all <");
        assert!(p.parse_error.unwrap().contains("cannot be read"));
        let p = parse(UBL.replace("Invoice-2", "Invoice-3").as_bytes());
        assert!(p.parse_error.unwrap().contains("not a UBL or CII"));
        let p = parse(br#"<header xmlns="mfp:anaf:dgti:spv:respUploadFisier:v1"/>"#);
        assert!(p.parse_error.is_some());
        let errors = br#"<header xmlns="mfp:anaf:dgti:efactura:mesajEroriFactuta:v1" Index_incarcare="5"><Error errorMessage="E: [BR-RO-010] a &amp; b"/><Error errorMessage="second"/></header>"#;
        assert_eq!(anaf_errors(errors), vec!["E: [BR-RO-010] a & b", "second"]);
        assert!(anaf_errors(b"<").is_empty());
        let p = parse(UBL.replace("<cbc:ID>FX-101</cbc:ID>", "").as_bytes());
        assert!(p.parse_error.unwrap().contains("number"));
        assert_eq!(p.payable.as_deref(), Some("119.00"), "the rest is kept");
    }
}
