//! Reading a `query_range` answer, which is untrusted: any shape, any size (capped before this),
//! values as strings including `"NaN"` and `"+Inf"`. Pure.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::recommend::Sample;

/// One series of a matrix answer: its `container` label (empty when absent) and its samples.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub container: String,
    pub samples: Vec<Sample>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Envelope {
    status: String,
    #[serde(default)]
    data: Option<Data>,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Data {
    result_type: String,
    result: Vec<RawSeries>,
}

#[derive(Deserialize)]
struct RawSeries {
    #[serde(default)]
    metric: BTreeMap<String, String>,
    /// Absent for series that only carry native histograms, which have no usage value.
    #[serde(default)]
    values: Vec<Point>,
}

/// `[seconds, "value"]`, read straight into a sample (no string kept per point).
struct Point(Sample);

impl<'de> Deserialize<'de> for Point {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Point, D::Error> {
        deserializer.deserialize_seq(PointVisitor)
    }
}

struct PointVisitor;

impl<'de> serde::de::Visitor<'de> for PointVisitor {
    type Value = Point;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a [timestamp, \"value\"] pair")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Point, A::Error> {
        use serde::de::Error;
        let seconds: f64 = seq
            .next_element()?
            .ok_or_else(|| A::Error::invalid_length(0, &self))?;
        let timestamp_ms = timestamp_ms(seconds)
            .ok_or_else(|| A::Error::custom(format!("timestamp {seconds} is not a time")))?;
        let value = seq
            .next_element::<Value>()?
            .ok_or_else(|| A::Error::invalid_length(1, &self))?
            .0;
        if seq.next_element::<serde::de::IgnoredAny>()?.is_some() {
            return Err(A::Error::invalid_length(3, &self));
        }
        Ok(Point(Sample {
            timestamp_ms,
            value,
        }))
    }
}

/// A sample value: a JSON string holding a number.
struct Value(f64);

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Value, D::Error> {
        struct ValueVisitor;
        impl serde::de::Visitor<'_> for ValueVisitor {
            type Value = Value;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a number in a string")
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Value, E> {
                parse_value(text)
                    .map(Value)
                    .ok_or_else(|| E::custom(format!("value {:?} is not a number", cut(text))))
            }
        }
        deserializer.deserialize_str(ValueVisitor)
    }
}

/// What a successful (2xx) body held.
#[derive(Debug, PartialEq)]
pub(crate) enum Parsed {
    Matrix(Vec<Series>),
    /// `status: "error"` in a 2xx answer, with Prometheus's message.
    Error(String),
}

/// Parses a 2xx body. `Err` says what was wrong with it, for [`super::UsageError::Malformed`].
pub(crate) fn parse_success(body: &[u8]) -> Result<Parsed, String> {
    let envelope: Envelope =
        serde_json::from_slice(body).map_err(|e| format!("not a prometheus answer ({e})"))?;
    if envelope.status != "success" {
        return Ok(Parsed::Error(envelope.error.map_or_else(
            || {
                format!(
                    "status {:?} without an error message",
                    cut(&envelope.status)
                )
            },
            |e| cut(&e),
        )));
    }
    let data = envelope
        .data
        .ok_or_else(|| "status success without data".to_owned())?;
    if data.result_type != "matrix" {
        return Err(format!(
            "resultType {:?} where a range query gives \"matrix\"",
            cut(&data.result_type)
        ));
    }
    Ok(Parsed::Matrix(
        data.result
            .into_iter()
            .map(|mut raw| Series {
                container: raw.metric.remove("container").unwrap_or_default(),
                samples: raw.values.into_iter().map(|Point(sample)| sample).collect(),
            })
            .collect(),
    ))
}

/// Seconds since the epoch (a JSON number, milliseconds in its fraction) to milliseconds.
fn timestamp_ms(seconds: f64) -> Option<i64> {
    // Up to the year ~5000 either way: anything beyond is not a sample time.
    const LIMIT_S: f64 = 1e11;
    (seconds.is_finite() && seconds.abs() < LIMIT_S).then(|| (seconds * 1000.0).round() as i64)
}

/// Prometheus formats sample values with Go's `strconv.FormatFloat` ('f', -1) and writes
/// `NaN`, `+Inf` and `-Inf` for the special values; those are kept (the profile drops them).
fn parse_value(text: &str) -> Option<f64> {
    match text {
        "NaN" => Some(f64::NAN),
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        _ if text.is_empty() || text.len() > 64 => None,
        _ => text.parse().ok(),
    }
}

/// An error answer's message: Prometheus's JSON `error`, else the start of the body as text
/// (a proxy's page), on one line.
pub(crate) fn error_message(body: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct ErrorBody {
        error: String,
    }
    if let Ok(parsed) = serde_json::from_slice::<ErrorBody>(body) {
        return Some(cut(&parsed.error));
    }
    let text = String::from_utf8_lossy(body);
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    (!line.is_empty()).then(|| cut(&line))
}

/// At most 300 characters, control characters replaced: text from the server goes into
/// conditions and logs.
fn cut(text: &str) -> String {
    const MAX: usize = 300;
    let mut out: String = text
        .chars()
        .take(MAX)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if text.chars().nth(MAX).is_some() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matrix(body: &str) -> Vec<Series> {
        match parse_success(body.as_bytes()) {
            Ok(Parsed::Matrix(series)) => series,
            other => panic!("not a matrix: {other:?}"),
        }
    }

    #[test]
    fn reads_containers_and_special_values() {
        let series = matrix(
            r#"{"status":"success","data":{"resultType":"matrix","result":[
                {"metric":{"container":"app"},"values":[[1767571200,"0.25"],[1767571500.5,"NaN"]]},
                {"metric":{"container":"proxy","pod":"p"},"values":[[1767571200.001,"+Inf"],[1767571500,"-Inf"],[1767571800,"1e3"]]},
                {"metric":{},"values":[[1767571200,"7"]]}
            ]},"warnings":["ignored"]}"#,
        );
        assert_eq!(series.len(), 3);
        assert_eq!(series[0].container, "app");
        assert_eq!(
            series[0].samples[0],
            Sample {
                timestamp_ms: 1_767_571_200_000,
                value: 0.25
            }
        );
        assert_eq!(series[0].samples[1].timestamp_ms, 1_767_571_500_500);
        assert!(series[0].samples[1].value.is_nan());
        assert_eq!(series[1].samples[0].timestamp_ms, 1_767_571_200_001);
        assert_eq!(series[1].samples[0].value, f64::INFINITY);
        assert_eq!(series[1].samples[1].value, f64::NEG_INFINITY);
        assert_eq!(series[1].samples[2].value, 1000.0);
        assert_eq!(series[2].container, "");
    }

    #[test]
    fn wrong_shapes_are_errors_that_say_what() {
        let cases = [
            ("<html>bad gateway</html>", "not a prometheus answer"),
            (r#"{"status":"success"}"#, "without data"),
            (
                r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#,
                "resultType \"vector\"",
            ),
            (
                r#"{"status":"success","data":{"resultType":"matrix","result":{}}}"#,
                "not a prometheus answer",
            ),
            (
                r#"{"status":"success","data":{"resultType":"matrix","result":[{"values":[[1,2]]}]}}"#,
                "not a prometheus answer",
            ),
            (
                r#"{"status":"success","data":{"resultType":"matrix","result":[{"values":[[1,"x"]]}]}}"#,
                "value \"x\" is not a number",
            ),
            (
                r#"{"status":"success","data":{"resultType":"matrix","result":[{"values":[[1e300,"1"]]}]}}"#,
                "is not a time",
            ),
            (
                r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"container":7}}]}}"#,
                "not a prometheus answer",
            ),
        ];
        for (body, want) in cases {
            let err = parse_success(body.as_bytes()).unwrap_err();
            assert!(err.contains(want), "{body}: {err}");
        }
    }

    #[test]
    fn an_error_status_in_a_200_is_reported() {
        assert_eq!(
            parse_success(br#"{"status":"error","errorType":"timeout","error":"query timed out"}"#),
            Ok(Parsed::Error("query timed out".into()))
        );
    }

    #[test]
    fn error_messages_from_json_or_text() {
        assert_eq!(
            error_message(br#"{"status":"error","errorType":"bad_data","error":"exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)"}"#).unwrap(),
            "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)"
        );
        assert_eq!(
            error_message(b"<html>\n<b>502</b>\tBad Gateway\n</html>").unwrap(),
            "<html> <b>502</b> Bad Gateway </html>"
        );
        assert_eq!(error_message(b"  \n"), None);
        let long = "x".repeat(1000);
        assert_eq!(error_message(long.as_bytes()).unwrap().chars().count(), 301);
    }
}
