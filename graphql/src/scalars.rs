//! Scalars of the API: `Date` is a calendar date (`2024-03-01`), in Europe/Oslo where it
//! matters (deadlines); `DateTime` (async-graphql's) is an RFC 3339 instant.

use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, Value};
use chrono::NaiveDate;

/// A calendar date, `YYYY-MM-DD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Date(pub NaiveDate);

#[Scalar(name = "Date")]
impl ScalarType for Date {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map(Date)
                .map_err(|_| {
                    InputValueError::custom(format!("{s:?} is not a date like 2024-03-01"))
                }),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        // `NaiveDate`'s `Display` is `YYYY-MM-DD`, without interpreting a format string.
        Value::String(self.0.to_string())
    }
}
