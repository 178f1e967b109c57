//! Generated child records for the benchmarks: valid rows of the child-records format at the demo seed's secondary
//! school (URN 123456, team R1L), each child with its own NHS number and one parent, born between September 2008
//! and mid-2012 (school age on 2023-05-20, the benchmarks' "today").

use chrono::NaiveDate;

/// One generated child: the CSV row and the PDS patient behind it.
pub struct Child {
    pub nhs: String,
    pub given: &'static str,
    pub family: String,
    pub dob: NaiveDate,
    pub postcode: String,
}

/// `rows` distinct children: valid distinct NHS numbers, letter-only distinct family names, dates of birth in
/// years 8–11 for academic year 2022 (the demo team's year groups), and Leeds postcodes.
pub fn generate(rows: usize) -> Vec<Child> {
    let given = ["Jennifer", "Jimmy", "Mark", "Aisha", "Oliver", "Zoe", "Siobhan", "Kwame"];
    let mut nhs_base = 400_000_000u64;
    (0..rows)
        .map(|i| {
            let nhs = loop {
                nhs_base += 1;
                if let Some(number) = shared::csv_import::values::nhs_number_starting(nhs_base) {
                    break number;
                }
            };
            Child {
                nhs,
                given: given[i % 8],
                family: format!("Bench{}", letters(i)),
                dob: NaiveDate::from_ymd_opt(2008, 9, 1).expect("date") + chrono::Duration::days((i % 1400) as i64),
                // Few children to a postcode, as in a real area (90 postcodes for them all would give each match a
                // thousand candidates at 100,000 rows): 36,000 postcodes.
                postcode: format!("LS{} {}{}", i % 9 + 1, i / 9 % 10, inward_letters(i / 90)),
            }
        })
        .collect()
}

/// Two of the letters a postcode's inward code may end with (never C, I, K, M, O or V), distinct for 400 values.
fn inward_letters(i: usize) -> String {
    const LETTERS: &[u8; 20] = b"ABDEFGHJLNPQRSTUWXYZ";
    [LETTERS[i % 20], LETTERS[i / 20 % 20]].iter().map(|&b| char::from(b)).collect()
}

/// Four lowercase letters, distinct for the first 456,976 values (names may not hold digits).
fn letters(mut i: usize) -> String {
    let mut out = [b'a'; 4];
    for slot in out.iter_mut().rev() {
        *slot = b'a' + (i % 26) as u8;
        i /= 26;
    }
    String::from_utf8(out.to_vec()).expect("ascii")
}

pub fn csv(children: &[Child]) -> Vec<u8> {
    let mut out = String::from(
        "CHILD_FIRST_NAME,CHILD_LAST_NAME,CHILD_DATE_OF_BIRTH,CHILD_ADDRESS_LINE_1,CHILD_TOWN,CHILD_POSTCODE,\
         CHILD_NHS_NUMBER,CHILD_SCHOOL_URN,PARENT_1_NAME,PARENT_1_RELATIONSHIP,PARENT_1_EMAIL,PARENT_1_PHONE\n",
    );
    for (i, c) in children.iter().enumerate() {
        out.push_str(&format!(
            "{},{},{},{} High Street,Leeds,{},{},123456,Parent {},Mum,parent{}@example.com,07412 {:06}\n",
            c.given,
            c.family,
            c.dob.format("%Y-%m-%d"),
            i % 200 + 1,
            c.postcode,
            c.nhs,
            c.family,
            i,
            i % 1_000_000
        ));
    }
    out.into_bytes()
}
