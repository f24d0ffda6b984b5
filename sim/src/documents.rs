//! Invoices as suppliers send them: CIUS-RO UBL 2.1 invoices and credit notes, and CII
//! invoices, with the fields an ERP imports (number, dates, currency, parties, totals,
//! lines). What the simulator's inboxes hold.

/// One generated document: its XML and the `standard` it is uploaded as.
#[derive(Clone, Debug)]
pub struct Document {
    pub xml: String,
    pub standard: &'static str,
}

fn money(bani: i64) -> String {
    let sign = if bani < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", bani.abs() / 100, bani.abs() % 100)
}

/// A document numbered `seq` from `seller` to `buyer`, issued on `date` (YYYY-MM-DD): UBL
/// invoices mostly, a UBL credit note every 7th, a CII invoice every 5th.
pub fn document(seq: u64, seller: &str, buyer: &str, date: &str) -> Document {
    let lines = 1 + (seq % 4) as usize;
    let credit_note = seq % 7 == 3;
    let cii = !credit_note && seq % 5 == 2;
    let sign = if credit_note { -1 } else { 1 };
    let net: i64 = (1..=lines as i64)
        .map(|i| sign * (1000 + i * 250 + (seq as i64 % 97) * 10))
        .sum();
    let vat = net * 19 / 100;
    let payable = net + vat;
    let number = format!("{}-{seq}", if credit_note { "STORNO" } else { "FX" });
    let xml = if cii {
        cii_invoice(&number, seller, buyer, date, lines, (net, vat, payable))
    } else {
        ubl(
            &number,
            seller,
            buyer,
            date,
            lines,
            credit_note,
            (net, vat, payable),
        )
    };
    Document {
        xml,
        standard: if cii {
            "CII"
        } else if credit_note {
            "CN"
        } else {
            "UBL"
        },
    }
}

fn ubl(
    number: &str,
    seller: &str,
    buyer: &str,
    date: &str,
    lines: usize,
    credit_note: bool,
    (net, vat, payable): (i64, i64, i64),
) -> String {
    let (root, line, qty) = if credit_note {
        ("CreditNote", "CreditNoteLine", "CreditedQuantity")
    } else {
        ("Invoice", "InvoiceLine", "InvoicedQuantity")
    };
    let due = if credit_note {
        format!("<cac:PaymentMeans><cbc:PaymentMeansCode>30</cbc:PaymentMeansCode><cbc:PaymentDueDate>{date}</cbc:PaymentDueDate></cac:PaymentMeans>")
    } else {
        String::new()
    };
    let due_head = if credit_note {
        String::new()
    } else {
        format!("<cbc:DueDate>{date}</cbc:DueDate>")
    };
    let type_code = if credit_note {
        "<cbc:CreditNoteTypeCode>381</cbc:CreditNoteTypeCode>"
    } else {
        "<cbc:InvoiceTypeCode>380</cbc:InvoiceTypeCode>"
    };
    let party = |cif: &str, name: &str| {
        format!(
            "<cac:Party><cac:PostalAddress><cbc:StreetName>Str. Exemplu 1</cbc:StreetName><cbc:CityName>SECTOR1</cbc:CityName><cbc:CountrySubentity>RO-B</cbc:CountrySubentity><cac:Country><cbc:IdentificationCode>RO</cbc:IdentificationCode></cac:Country></cac:PostalAddress><cac:PartyTaxScheme><cbc:CompanyID>RO{cif}</cbc:CompanyID><cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:PartyTaxScheme><cac:PartyLegalEntity><cbc:RegistrationName>{name}</cbc:RegistrationName><cbc:CompanyID>J40/1/2020</cbc:CompanyID></cac:PartyLegalEntity></cac:Party>"
        )
    };
    let mut body = String::new();
    let per_line = net / lines as i64;
    for i in 0..lines {
        let amount = if i + 1 == lines {
            net - per_line * (lines as i64 - 1)
        } else {
            per_line
        };
        body.push_str(&format!(
            "<cac:{line}><cbc:ID>{}</cbc:ID><cbc:{qty} unitCode=\"H87\">1</cbc:{qty}><cbc:LineExtensionAmount currencyID=\"RON\">{}</cbc:LineExtensionAmount><cac:Item><cbc:Name>Articol {}</cbc:Name><cac:ClassifiedTaxCategory><cbc:ID>S</cbc:ID><cbc:Percent>19</cbc:Percent><cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:ClassifiedTaxCategory></cac:Item><cac:Price><cbc:PriceAmount currencyID=\"RON\">{}</cbc:PriceAmount></cac:Price></cac:{line}>",
            i + 1,
            money(amount),
            i + 1,
            money(amount.abs())
        ));
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<{root} xmlns=\"urn:oasis:names:specification:ubl:schema:xsd:{root}-2\" xmlns:cac=\"urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2\" xmlns:cbc=\"urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2\"><cbc:CustomizationID>urn:cen.eu:en16931:2017#compliant#urn:efactura.mfinante.ro:CIUS-RO:1.0.1</cbc:CustomizationID><cbc:ID>{number}</cbc:ID><cbc:IssueDate>{date}</cbc:IssueDate>{due_head}{type_code}<cbc:DocumentCurrencyCode>RON</cbc:DocumentCurrencyCode><cac:AccountingSupplierParty>{}</cac:AccountingSupplierParty><cac:AccountingCustomerParty>{}</cac:AccountingCustomerParty>{due}<cac:TaxTotal><cbc:TaxAmount currencyID=\"RON\">{}</cbc:TaxAmount><cac:TaxSubtotal><cbc:TaxableAmount currencyID=\"RON\">{}</cbc:TaxableAmount><cbc:TaxAmount currencyID=\"RON\">{}</cbc:TaxAmount><cac:TaxCategory><cbc:ID>S</cbc:ID><cbc:Percent>19</cbc:Percent><cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:TaxCategory></cac:TaxSubtotal></cac:TaxTotal><cac:LegalMonetaryTotal><cbc:LineExtensionAmount currencyID=\"RON\">{}</cbc:LineExtensionAmount><cbc:TaxExclusiveAmount currencyID=\"RON\">{}</cbc:TaxExclusiveAmount><cbc:TaxInclusiveAmount currencyID=\"RON\">{}</cbc:TaxInclusiveAmount><cbc:PayableAmount currencyID=\"RON\">{}</cbc:PayableAmount></cac:LegalMonetaryTotal>{body}</{root}>",
        party(seller, &format!("Furnizor {seller} SRL")),
        party(buyer, &format!("Client {buyer} SRL")),
        money(vat),
        money(net),
        money(vat),
        money(net),
        money(net),
        money(payable),
        money(payable),
    )
}

fn cii_invoice(
    number: &str,
    seller: &str,
    buyer: &str,
    date: &str,
    lines: usize,
    (net, vat, payable): (i64, i64, i64),
) -> String {
    let d = date.replace('-', "");
    let items: String = (1..=lines)
        .map(|i| format!("<ram:IncludedSupplyChainTradeLineItem><ram:AssociatedDocumentLineDocument><ram:LineID>{i}</ram:LineID></ram:AssociatedDocumentLineDocument><ram:SpecifiedTradeProduct><ram:Name>Articol {i}</ram:Name></ram:SpecifiedTradeProduct></ram:IncludedSupplyChainTradeLineItem>"))
        .collect();
    let party = |role: &str, cif: &str, name: &str| {
        format!("<ram:{role}><ram:Name>{name}</ram:Name><ram:PostalTradeAddress><ram:CountryID>RO</ram:CountryID></ram:PostalTradeAddress><ram:SpecifiedTaxRegistration><ram:ID schemeID=\"VA\">RO{cif}</ram:ID></ram:SpecifiedTaxRegistration></ram:{role}>")
    };
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rsm:CrossIndustryInvoice xmlns:rsm=\"urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100\" xmlns:ram=\"urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100\" xmlns:udt=\"urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100\"><rsm:ExchangedDocumentContext><ram:GuidelineSpecifiedDocumentContextParameter><ram:ID>urn:cen.eu:en16931:2017#compliant#urn:efactura.mfinante.ro:CIUS-RO:1.0.1</ram:ID></ram:GuidelineSpecifiedDocumentContextParameter></rsm:ExchangedDocumentContext><rsm:ExchangedDocument><ram:ID>{number}</ram:ID><ram:TypeCode>380</ram:TypeCode><ram:IssueDateTime><udt:DateTimeString format=\"102\">{d}</udt:DateTimeString></ram:IssueDateTime></rsm:ExchangedDocument><rsm:SupplyChainTradeTransaction>{items}<ram:ApplicableHeaderTradeAgreement>{}{}</ram:ApplicableHeaderTradeAgreement><ram:ApplicableHeaderTradeDelivery/><ram:ApplicableHeaderTradeSettlement><ram:InvoiceCurrencyCode>RON</ram:InvoiceCurrencyCode><ram:SpecifiedTradePaymentTerms><ram:DueDateDateTime><udt:DateTimeString format=\"102\">{d}</udt:DateTimeString></ram:DueDateDateTime></ram:SpecifiedTradePaymentTerms><ram:SpecifiedTradeSettlementHeaderMonetarySummation><ram:LineTotalAmount>{}</ram:LineTotalAmount><ram:TaxBasisTotalAmount>{}</ram:TaxBasisTotalAmount><ram:TaxTotalAmount currencyID=\"RON\">{}</ram:TaxTotalAmount><ram:GrandTotalAmount>{}</ram:GrandTotalAmount><ram:DuePayableAmount>{}</ram:DuePayableAmount></ram:SpecifiedTradeSettlementHeaderMonetarySummation></ram:ApplicableHeaderTradeSettlement></rsm:SupplyChainTradeTransaction></rsm:CrossIndustryInvoice>",
        party("SellerTradeParty", seller, &format!("Furnizor {seller} SRL")),
        party("BuyerTradeParty", buyer, &format!("Client {buyer} SRL")),
        money(net),
        money(net),
        money(vat),
        money(payable),
        money(payable),
    )
}
