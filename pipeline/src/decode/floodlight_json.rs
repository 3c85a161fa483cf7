//! `floodlight-json`: floodlight's own normalized form, one JSON object per
//! line with a `class` key and the columns of that class (see
//! `docs/schema.md`), `vendor_fields` as an object of string values. It is
//! exactly what `floodlight parse` prints, so parsed output can be replayed.
//! Unknown keys are rejected so typos do not vanish.

use serde_json::Value;

use super::readers::json;
use super::{record_text, DecodeError, DecodeOutcome, Decoder, RecordContext};
use crate::schema::{AuthEvent, DnsEvent, EmailEvent, EventClass, NetworkEvent, OauthEvent, Row};

/// Decoder for `floodlight-json`.
pub struct FloodlightJson;

impl Decoder for FloodlightJson {
    fn id(&self) -> &'static str {
        "floodlight-json"
    }

    fn classes(&self) -> &'static [EventClass] {
        &EventClass::ALL
    }

    fn decode(&self, record: &[u8], _ctx: RecordContext<'_>, out: &mut Vec<Row>) -> Result<DecodeOutcome, DecodeError> {
        let mut obj = json::parse_object(record_text(record)?)?;
        let class = match obj.remove("class") {
            Some(Value::String(s)) => s.parse::<EventClass>().map_err(DecodeError::new)?,
            Some(_) => return Err(DecodeError::new("`class` must be a string")),
            None => return Err(DecodeError::new("missing `class` (one of network, dns, auth, oauth, email)")),
        };
        if !obj.contains_key("time") {
            return Err(DecodeError::new("missing `time`"));
        }
        // Origin columns are assigned by the pipeline from where the record was read.
        for k in ["event_id", "origin", "format"] {
            obj.remove(k);
        }
        let value = Value::Object(obj);
        let err = |e: serde_json::Error| DecodeError::new(format!("{class} event: {e}"));
        let row = match class {
            EventClass::Network => Row::Network(serde_json::from_value::<NetworkEvent>(value).map_err(err)?),
            EventClass::Dns => Row::Dns(serde_json::from_value::<DnsEvent>(value).map_err(err)?),
            EventClass::Auth => Row::Auth(serde_json::from_value::<AuthEvent>(value).map_err(err)?),
            EventClass::Oauth => Row::Oauth(serde_json::from_value::<OauthEvent>(value).map_err(err)?),
            EventClass::Email => Row::Email(serde_json::from_value::<EmailEvent>(value).map_err(err)?),
        };
        out.push(row);
        Ok(DecodeOutcome::Parsed(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(line: &str) -> Result<Vec<Row<'_>>, DecodeError> {
        let mut out = Vec::new();
        FloodlightJson.decode(line.as_bytes(), RecordContext::default(), &mut out)?;
        Ok(out)
    }

    #[test]
    fn decodes_each_class_and_round_trips_through_to_json() {
        let line = r#"{"class":"email","time":"2026-11-24T09:00:00Z","kind":"inbox_rule","user":"ana@corp.example.com","forward_to":["ana.p@gmail.com"],"hides_mail":true}"#;
        let rows = decode(line).unwrap();
        let Row::Email(e) = &rows[0] else { panic!("expected email row") };
        assert_eq!(e.forward_to, vec!["ana.p@gmail.com"]);
        assert_eq!(e.hides_mail, Some(true));
        assert_eq!(e.time.to_rfc3339(), "2026-11-24T09:00:00.000Z");
        let text = rows[0].to_json().to_string();
        let again = decode(&text).unwrap();
        assert_eq!(again, rows);
    }

    #[test]
    fn vendor_fields_round_trip() {
        let line = r#"{"class":"auth","time":"2026-11-24T09:00:00Z","user":"dana.kim@contoso.com","vendor_fields":{"correlationId":"65b1c1d4","location.city":"Lisbon"}}"#;
        let rows = decode(line).unwrap();
        let Row::Auth(a) = &rows[0] else { panic!("expected auth row") };
        assert_eq!(a.vendor_fields.get("location.city"), Some("Lisbon"));
        assert_eq!(a.vendor_fields.get("correlationId"), Some("65b1c1d4"));
        let text = rows[0].to_json().to_string();
        assert_eq!(decode(&text).unwrap(), rows);
        assert!(decode(r#"{"class":"auth","time":1,"vendor_fields":{"n":1}}"#).is_err(), "values are strings");
    }

    #[test]
    fn rejects_unknown_keys_missing_class_and_bad_types() {
        assert!(decode(r#"{"class":"dns","time":1700000000,"qurey":"x"}"#).unwrap_err().reason.contains("qurey"));
        assert!(decode(r#"{"time":1700000000}"#).unwrap_err().reason.contains("class"));
        assert!(decode(r#"{"class":"auth"}"#).unwrap_err().reason.contains("time"));
        assert!(decode(r#"{"class":"network","time":1,"src_port":"x"}"#).is_err());
        assert!(decode("not json").unwrap_err().reason.contains("invalid JSON"));
    }

    #[test]
    fn doc_example_json() {
        let line = r#"{"class":"email","time":"2026-11-24T09:00:00Z","kind":"inbox_rule","user":"ana@corp.example.com","forward_to":["ana.p@gmail.com"],"hides_mail":true}"#;
        let mut rows = decode(line).unwrap();
        rows[0].set_origin(&crate::origin::event_id("stdin", None, 1), "stdin:1", FloodlightJson.id());
        crate::decode::doc_example::check("floodlight-json.md", &rows[0].to_json());
    }
}
