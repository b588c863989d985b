//! Checks on Salesforce identifiers and URLs, shared by validation and tests.

use url::Url;

/// Why a Salesforce organisation id is not valid; each message finishes "org_id ...".
pub(super) fn org_id_problem(org_id: &str) -> Option<String> {
    if !org_id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Some("may contain only letters and digits".to_string());
    }
    // All ASCII from here on, so the length in bytes is the length in characters.
    if !(org_id.len() == 15 || org_id.len() == 18) {
        return Some(format!(
            "must be 15 or 18 characters long, not {}",
            org_id.len()
        ));
    }
    if !org_id.starts_with("00D") {
        return Some("must start with 00D, the prefix of Salesforce organisation ids".to_string());
    }
    if org_id.len() == 18 {
        let expected = case_suffix(&org_id[..15]);
        let actual = &org_id[15..];
        if actual != expected {
            return Some(format!(
                "has the case-check suffix {actual}, but its first 15 characters give {expected}"
            ));
        }
    }
    None
}

/// The three characters Salesforce appends to a 15-character id to make it
/// case-insensitive: per block of five characters, a bit for each upper-case letter.
fn case_suffix(id15: &str) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";
    id15.as_bytes()
        .chunks(5)
        .map(|chunk| {
            let bits = chunk
                .iter()
                .enumerate()
                .filter(|(_, byte)| byte.is_ascii_uppercase())
                .fold(0usize, |bits, (position, _)| bits | 1 << position);
            char::from(ALPHABET[bits])
        })
        .collect()
}

/// Why an instance URL is not an absolute https URL with a host.
///
/// Stricter than URL parsing alone, which forgives `https:host`, surrounding spaces and
/// the like: the text itself must be `https://host...`, as it is sent to Siro verbatim.
pub(super) fn instance_url_problem(instance_url: &str) -> Option<String> {
    if instance_url.trim() != instance_url || instance_url.contains(char::is_whitespace) {
        return Some("must not contain spaces".to_string());
    }
    let Some(rest) = instance_url.strip_prefix("https://") else {
        return Some("must start with https://".to_string());
    };
    if rest.is_empty() || rest.starts_with('/') {
        return Some("must name a host after https://".to_string());
    }
    let url = match Url::parse(instance_url) {
        Ok(url) => url,
        Err(error) => return Some(format!("is not a valid URL ({error})")),
    };
    if !url.username().is_empty() || url.password().is_some() {
        return Some("must not contain a user name or password".to_string());
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Some("must name a host".to_string());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_15_and_matching_18_character_ids() {
        assert_eq!(org_id_problem("00D000000000001"), None);
        // Suffix computed by hand: no upper-case letters after "00D" except D at index 2.
        assert_eq!(case_suffix("00D000000000001"), "EAA");
        assert_eq!(org_id_problem("00D000000000001EAA"), None);
        assert!(org_id_problem("00D000000000001eaa").is_some());
        assert_eq!(case_suffix("00DAbCdE0000000"), "MFA");
    }

    #[test]
    fn refuses_wrong_ids() {
        let cases = [
            ("", "15 or 18"),
            ("00D00000000001", "15 or 18"),
            ("001000000000001", "00D"),
            ("00D00000000000-", "letters and digits"),
            ("00D000000000001AAA", "suffix"),
            ("00D0000000000é", "letters and digits"),
        ];
        for (id, expected) in cases {
            let problem = org_id_problem(id).unwrap_or_default();
            assert!(problem.contains(expected), "{id}: {problem}");
        }
    }

    #[test]
    fn instance_url_must_be_https_with_a_host() {
        assert_eq!(instance_url_problem("https://acme.my.salesforce.com"), None);
        assert!(instance_url_problem("http://acme.my.salesforce.com").is_some());
        assert!(instance_url_problem("acme.my.salesforce.com").is_some());
        assert!(instance_url_problem("https://").is_some());
        assert!(instance_url_problem("").is_some());
        for loose in [
            "https:///path",
            "https:acme.com",
            " https://acme.com",
            "https://u:p@acme.com",
            "HTTPS//acme.com",
        ] {
            assert!(instance_url_problem(loose).is_some(), "{loose}");
        }
    }
}
