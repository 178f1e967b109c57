//! Property tests of every parser of untrusted input (the checks in `shared::contract_tests::parsers`, which the fuzz
//! targets in `fuzz/` also drive): any input gives an answer, never a panic, and canonical forms are stable. Inputs
//! are both raw bytes and CSV-shaped files under the real headers, so that the row rules are reached too.

use proptest::prelude::*;
use shared::contract_tests::parsers;

const CHILD_RECORDS_HEADER: &str = "CHILD_SCHOOL_URN,PARENT_1_NAME,PARENT_1_RELATIONSHIP,PARENT_1_EMAIL,PARENT_1_PHONE,\
    PARENT_2_NAME,PARENT_2_RELATIONSHIP,PARENT_2_EMAIL,PARENT_2_PHONE,CHILD_FIRST_NAME,CHILD_LAST_NAME,\
    CHILD_PREFERRED_GIVEN_NAME,CHILD_DATE_OF_BIRTH,CHILD_YEAR_GROUP,CHILD_ADDRESS_LINE_1,CHILD_ADDRESS_LINE_2,\
    CHILD_TOWN,CHILD_POSTCODE,CHILD_NHS_NUMBER";
const VACCINATION_HEADER: &str = "ORGANISATION_CODE,SCHOOL_URN,SCHOOL_NAME,NHS_NUMBER,PERSON_FORENAME,PERSON_SURNAME,\
    PERSON_DOB,PERSON_GENDER_CODE,PERSON_POSTCODE,VACCINATED,DATE_OF_VACCINATION,PROGRAMME,VACCINE_GIVEN,BATCH_NUMBER,\
    BATCH_EXPIRY_DATE,ANATOMICAL_SITE,PERFORMING_PROFESSIONAL_FORENAME,PERFORMING_PROFESSIONAL_SURNAME,DOSE_SEQUENCE,\
    REASON_NOT_VACCINATED,CARE_SETTING,TIME_OF_VACCINATION,UUID,SESSION_ID";

/// A cell as files carry them: plausible values, near misses and junk, quoted or not.
fn cell() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("9990000018".to_string()),
        Just("999 000 0026".to_string()),
        Just("2010-01-01".to_string()),
        Just("20120912".to_string()),
        Just("123456".to_string()),
        Just("R1L".to_string()),
        Just("Flu".to_string()),
        Just("Yes".to_string()),
        Just("SW1A 1AA".to_string()),
        Just("07412345678".to_string()),
        "[A-Za-z' -]{0,12}",
        "[0-9/:. -]{0,12}",
        "\"[^\"]{0,10}\"",
        any::<String>().prop_map(|s| s.replace([',', '\n', '"'], "")),
    ]
}

fn csv_file(header: &'static str) -> impl Strategy<Value = Vec<u8>> {
    let row = prop::collection::vec(cell(), 0..26).prop_map(|cells| cells.join(","));
    (prop::collection::vec(row, 0..12), prop::bool::ANY).prop_map(move |(rows, crlf)| {
        let newline = if crlf { "\r\n" } else { "\n" };
        let mut text = header.to_string();
        for row in rows {
            text.push_str(newline);
            text.push_str(&row);
        }
        text.into_bytes()
    })
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        prop_oneof![
            Just("Bundle".to_string()),
            Just("Patient".to_string()),
            Just("Immunization".to_string()),
            Just("OperationOutcome".to_string()),
            Just("completed".to_string()),
            Just("9990000018".to_string()),
            "[ -~]{0,16}",
        ]
        .prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        let keys = prop_oneof![
            Just("resourceType".to_string()),
            Just("entry".to_string()),
            Just("resource".to_string()),
            Just("id".to_string()),
            Just("name".to_string()),
            Just("birthDate".to_string()),
            Just("identifier".to_string()),
            Just("status".to_string()),
            Just("issue".to_string()),
            Just("code".to_string()),
            Just("meta".to_string()),
            Just("total".to_string()),
            "[a-zA-Z]{1,8}",
        ];
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
            prop::collection::btree_map(keys, inner, 0..5)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn child_records_files_always_get_an_answer(bytes in csv_file(CHILD_RECORDS_HEADER)) {
        parsers::child_records_file(&bytes);
    }

    #[test]
    fn any_bytes_as_a_child_records_file_get_an_answer(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        parsers::child_records_file(&bytes);
    }

    #[test]
    fn vaccination_files_always_get_an_answer(bytes in csv_file(VACCINATION_HEADER)) {
        parsers::vaccination_records_file(&bytes);
    }

    #[test]
    fn any_bytes_as_a_vaccination_file_get_an_answer(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        parsers::vaccination_records_file(&bytes);
    }
}

proptest! {
    #[test]
    fn cell_values_parse_to_stable_forms(text in prop_oneof![
        any::<String>(),
        "[0-9 ]{8,14}",
        "[A-Za-z]{1,2}[0-9]{1,2}[A-Za-z]? ?[0-9][A-Za-z]{2}",
        "[0-9]{1,4}[-/.][0-9]{1,2}[-/.][0-9]{1,4}",
        "[0-9]{1,2}:[0-9]{2}(:[0-9]{2})?",
    ]) {
        parsers::cell_values(&text);
    }

    #[test]
    fn phone_numbers_get_an_answer(text in prop_oneof![any::<String>(), "\\+?[0-9 ()-]{0,16}"]) {
        parsers::phone_number(&text);
    }

    #[test]
    fn any_text_as_an_s3_notification_gets_an_answer(text in any::<String>()) {
        parsers::s3_notification(&text);
    }

    /// Whatever the key, its URL-encoded form in a notification decodes back to exactly that key.
    #[test]
    fn s3_notification_keys_round_trip(key in "[a-zA-Z0-9 +%&()/._-]{1,40}") {
        let encoded = percent_encoding::utf8_percent_encode(&key, percent_encoding::NON_ALPHANUMERIC).to_string();
        let json = serde_json::json!({"Records": [{"eventName": "ObjectCreated:Put",
            "s3": {"bucket": {"name": "b"}, "object": {"key": encoded, "eTag": "e", "size": 1}}}]});
        let events = shared::pipeline::parse_notification(&json.to_string()).expect("a notification");
        prop_assert_eq!(&events[0].key, &key);
        parsers::s3_notification(&json.to_string());
    }

    #[test]
    fn pds_answers_get_an_answer(body in json_value()) {
        parsers::pds_response(&serde_json::to_vec(&body).expect("json"));
    }

    #[test]
    fn immunisations_answers_get_an_answer(body in json_value()) {
        parsers::imms_response(&serde_json::to_vec(&body).expect("json"));
    }
}

/// One runtime, pipeline and token issuer for every case (each case is one `block_on`).
struct Fixtures {
    runtime: tokio::runtime::Runtime,
    pipeline: shared::pipeline::Pipeline,
    authenticator: shared::web::Authenticator,
    real_token: String,
    _dir: tempfile::TempDir,
}

fn fixtures() -> &'static Fixtures {
    static FIXTURES: std::sync::OnceLock<Fixtures> = std::sync::OnceLock::new();
    FIXTURES.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        let pipeline = runtime.block_on(parsers::embedded_pipeline(&dir.path().join("objects")));
        let issuer = shared::web::LocalIssuer::load_or_create(&dir.path().join("keys")).expect("issuer");
        let real_token = issuer.issue("nurse@example.com", std::time::Duration::from_secs(300));
        Fixtures { runtime, pipeline, authenticator: issuer.authenticator(), real_token, _dir: dir }
    })
}

fn sqs_event() -> impl Strategy<Value = Vec<u8>> {
    let body = prop_oneof![
        json_value().prop_map(|v| v.to_string()),
        "[ -~]{0,40}",
        Just(r#"{"Records":[{"s3":{"bucket":{"name":"b"},"object":{"key":"drops/R1L/x.csv"}}}]}"#.to_string()),
        Just(r#"{"kind":"search_page","import_id":"00000000-0000-0000-0000-000000000000"}"#.to_string()),
    ];
    let record = (prop_oneof![Just("m1".to_string()), "[a-z0-9-]{0,12}"], body, prop::bool::ANY).prop_map(
        |(id, body, with_id)| {
            let mut record = serde_json::json!({ "body": body, "eventSource": "aws:sqs" });
            if with_id {
                record["messageId"] = serde_json::Value::from(id);
            }
            record
        },
    );
    prop_oneof![
        prop::collection::vec(record, 0..4).prop_map(|records| serde_json::json!({ "Records": records })),
        json_value(),
    ]
    .prop_map(|event| serde_json::to_vec(&event).expect("json"))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn lambda_events_are_answered_naming_only_their_own_messages(event in sqs_event()) {
        let f = fixtures();
        f.runtime.block_on(parsers::lambda_event(&f.pipeline, &event));
    }

    #[test]
    fn only_a_token_the_issuer_signed_is_accepted(
        header in prop_oneof![
            Just(br#"{"alg":"ES256","typ":"JWT"}"#.to_vec()),
            Just(br#"{"alg":"none"}"#.to_vec()),
            Just(br#"{"alg":"HS256","kid":"x"}"#.to_vec()),
            json_value().prop_map(|v| v.to_string().into_bytes()),
        ],
        payload in prop_oneof![
            Just(br#"{"email":"nurse@example.com","iss":"mavis-local","aud":"mavis","exp":99999999999}"#.to_vec()),
            json_value().prop_map(|v| v.to_string().into_bytes()),
        ],
        signature in prop::collection::vec(any::<u8>(), 0..80),
        raw in prop_oneof![any::<String>(), "[A-Za-z0-9_-]{0,20}\\.[A-Za-z0-9_-]{0,20}\\.[A-Za-z0-9_-]{0,20}"],
    ) {
        let f = fixtures();
        f.runtime.block_on(parsers::bearer_token(&f.authenticator, &header, &payload, &signature, &raw));
    }
}

#[test]
fn the_issuers_own_token_is_accepted_so_the_token_property_can_fail() {
    let f = fixtures();
    let email = f.runtime.block_on(f.authenticator.verify(&f.real_token)).expect("the real token verifies");
    assert_eq!(email, "nurse@example.com");
}
