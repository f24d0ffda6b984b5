use super::*;

#[test]
fn tables_take_the_prefix_and_schema_indexes_the_prefix() {
    let n = Naming::parse("contab.erp_");
    assert_eq!(
        n.apply("SELECT x FROM anaf_token WHERE z.anaf_q = 1 AND my_anaf_col = 2"),
        "SELECT x FROM contab.erp_anaf_token WHERE z.anaf_q = 1 AND my_anaf_col = 2"
    );
    assert_eq!(
        n.apply("CREATE INDEX anaf_upload_journal_key ON anaf_upload_journal (cif)"),
        "CREATE INDEX erp_anaf_upload_journal_key ON contab.erp_anaf_upload_journal (cif)"
    );
    assert_eq!(
        n.apply("CREATE VIEW anaf_token_v AS SELECT 1 FROM anaf_token"),
        "CREATE VIEW contab.erp_anaf_token_v AS SELECT 1 FROM contab.erp_anaf_token"
    );
    assert_eq!(Naming::parse("erp_").table("anaf_lock"), "erp_anaf_lock");
    assert!(matches!(
        Naming::default().apply("anaf_token"),
        std::borrow::Cow::Borrowed(_)
    ));
}

#[test]
fn passwords_are_masked() {
    assert_eq!(
        mask_connection_string("Driver={PostgreSQL Unicode};Server=db;UID=erp;PWD=s3cret;"),
        "Driver={PostgreSQL Unicode};Server=db;UID=erp;PWD=***;"
    );
    assert_eq!(
        mask_connection_string("DSN=ERP;password=x"),
        "DSN=ERP;password=***"
    );
}

#[test]
fn sqlstates_map_to_kinds() {
    assert_eq!(kind_of("55P03", 0), Kind::Busy);
    assert_eq!(kind_of("HY000", 1205), Kind::Busy);
    assert_eq!(kind_of("42P01", 7), Kind::MissingTable);
    assert_eq!(kind_of("42S02", 1146), Kind::MissingTable);
    assert_eq!(kind_of("42501", 7), Kind::ReadOnly);
    assert_eq!(kind_of("08001", 0), Kind::Other);
}

#[test]
fn driver_missing_names_the_bitness() {
    let e = describe(
        "DSN=ERP",
        DbError::new(
            Kind::Other,
            "State: IM002, Native error: 0, Message: Data source name not found",
        ),
    );
    assert_eq!(e.status, ANAF_ERR_DATABASE);
    let en = e.message(Lang::En);
    assert!(
        en.contains("bit ODBC driver") && en.contains("DSN=ERP"),
        "{en}"
    );
}
