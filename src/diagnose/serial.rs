//! The certificate serial the login window picks the certificate by: the most frequent
//! cause of "Acces denied" when it is missing.

use super::{Check, Level};
use crate::config::Config;
use serde_json::json;

const TITLE: (&str, &str) = ("Seria certificatului", "Certificate serial");

pub(super) fn check(cfg: &Config) -> Check {
    let c = Check::new("cert_serial", TITLE, Level::Ok);
    let Some(serial) = &cfg.cert_serial else {
        return c
            .level(Level::Problem)
            .msg(
                "Seria certificatului de semnătură electronică nu este completată (cauza cea mai frecventă a erorii \"Acces denied\").",
                "The serial number of the signing certificate is not set (the most frequent cause of \"Acces denied\").",
            )
            .todo(
                "Completați în ERP seria certificatului: în Windows, certmgr.msc > Personal > Certificates > certificatul > Details > Serial number; copiați-o fără spații.",
                "Enter the certificate serial in the ERP: in Windows, certmgr.msc > Personal > Certificates > the certificate > Details > Serial number; copy it without spaces.",
            );
    };
    let normalised = cfg
        .notes
        .iter()
        .any(|n| n.starts_with("cert_serial normalised"));
    let data = json!({ "serial": serial, "normalised": normalised, "length": serial.len() });
    if normalised {
        return c
            .level(Level::Warning)
            .data(data)
            .msg(
                format!("Seria era scrisă cu spații sau separatori; anaf-bridge a folosit-o curățată: {serial}."),
                format!("The serial was written with spaces or separators; anaf-bridge used it cleaned: {serial}."),
            )
            .todo(
                format!("Scrieți seria în ERP exact așa: {serial} (alte programe nu o curăță)."),
                format!("Write the serial in the ERP exactly as: {serial} (other programs do not clean it)."),
            );
    }
    if serial.len() < 8 {
        return c
            .level(Level::Warning)
            .data(data)
            .msg(
                format!("Seria {serial} pare prea scurtă pentru un certificat calificat."),
                format!("The serial {serial} looks too short for a qualified certificate."),
            )
            .todo(
                "Verificați că ați copiat seria întreagă din detaliile certificatului.",
                "Check that the whole serial was copied from the certificate details.",
            );
    }
    c.data(data).msg(
        format!("Seria certificatului este completată corect: {serial}."),
        format!("The certificate serial is set correctly: {serial}."),
    )
}
