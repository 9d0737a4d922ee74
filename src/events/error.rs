//! Why a body was refused. A malformed element rejects the whole body, so the
//! error names the element and the field, letting the sender (or whoever reads
//! the 400 answer) find the problem without us echoing any of its values:
//! callback payloads carry phone numbers, and error text ends up in logs.

/// Why a callback or Event Grid body could not be parsed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ParseError {
    #[error("body is not valid JSON: {0}")]
    InvalidJson(String),
    #[error("{message}")]
    InvalidEvent {
        /// Index in the top-level array; `None` for a single-object body or
        /// for a problem with the body as a whole.
        element: Option<usize>,
        /// JSON path of the offending field, e.g. `data.sequenceNumber`. Empty
        /// when the element (or body) itself is the problem.
        field: String,
        /// Human-readable; names the element and the field.
        message: String,
    },
}

impl ParseError {
    /// A problem with the body as a whole rather than with one element.
    pub(crate) fn body(message: impl Into<String>) -> Self {
        ParseError::InvalidEvent {
            element: None,
            field: String::new(),
            message: message.into(),
        }
    }
}

/// Where in the body we are, so every error can say which element it is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ctx {
    pub(crate) element: Option<usize>,
}

impl Ctx {
    pub(crate) fn new(element: Option<usize>) -> Self {
        Ctx { element }
    }

    /// `problem` completes the sentence "field `x` ...", e.g. "must be an array".
    pub(crate) fn error(&self, field: &str, problem: &str) -> ParseError {
        let whom = match self.element {
            Some(i) => format!("element {i}"),
            None => "event".to_string(),
        };
        let message = if field.is_empty() {
            format!("{whom}: {problem}")
        } else {
            format!("{whom}: field `{field}` {problem}")
        };
        ParseError::InvalidEvent {
            element: self.element,
            field: field.to_string(),
            message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_names_element_and_field() {
        let e = Ctx::new(Some(2)).error("data.participants", "must be an array");
        assert_eq!(
            e,
            ParseError::InvalidEvent {
                element: Some(2),
                field: "data.participants".into(),
                message: "element 2: field `data.participants` must be an array".into(),
            }
        );
        assert_eq!(
            e.to_string(),
            "element 2: field `data.participants` must be an array"
        );
    }

    #[test]
    fn single_object_and_whole_element_messages() {
        let e = Ctx::new(None).error("type", "is required");
        assert_eq!(e.to_string(), "event: field `type` is required");
        let e = Ctx::new(Some(0)).error("", "must be a JSON object");
        assert_eq!(e.to_string(), "element 0: must be a JSON object");
        assert_eq!(
            ParseError::InvalidJson("EOF".into()).to_string(),
            "body is not valid JSON: EOF"
        );
    }
}
