//! The text syntax of one value (Mesos: values.cpp `internal::values::parse`):
//! `45.55` is a scalar, `[31000-32000, 33000-34000]` ranges, `{sda1, sda2}` a set,
//! anything else text. Errors carry the byte offset of the offending character so that
//! the `--resources` parser can point into its whole input.

use crate::mesos::Value;
use crate::mesos::value::{Set, Text, Type};

use super::{ranges_from, scalar_input_problem, scalar_value};
use crate::resources::error::{ParseProblem, ResourceError};

/// Parses a value in Mesos's text syntax (Mesos: values.cpp
/// `internal::values::parse`):
///
/// * `[b-e, b-e, ...]` is RANGES (coalesced; `[]` is empty),
/// * `{a, b, ...}` is SET (`{}` is empty),
/// * a number is SCALAR (finite, not negative, at most [`MAX_SCALAR`]),
/// * anything else is TEXT.
///
/// Whitespace anywhere is ignored. Unlike Mesos, which tokenizes loosely, a
/// ranges value must be exactly a list of `begin-end` pairs.
pub fn parse_value(text: &str) -> Result<Value, ResourceError> {
    parse_value_at(text).map_err(|(offset, problem)| ResourceError::Parse {
        what: "value",
        input: text.to_string(),
        offset,
        token: text.to_string(),
        problem,
    })
}

/// [`parse_value`] with the error as (byte offset into `text`, problem), for
/// callers that report offsets into a larger string.
pub(crate) fn parse_value_at(text: &str) -> Result<Value, (usize, ParseProblem)> {
    let chars: Vec<(usize, char)> =
        text.char_indices().filter(|(_, c)| !c.is_whitespace()).collect();
    let Some(&(_, first)) = chars.first() else {
        return Err((0, ParseProblem::EmptyValue));
    };
    check_brackets(&chars)?;

    if first == '[' {
        return parse_ranges(&chars, text.len());
    }
    if let Some(&(at, _)) = chars.iter().find(|(_, c)| *c == '[') {
        return Err((
            at,
            ParseProblem::Unexpected {
                found: '[',
                expected: "'[' only at the start of a ranges value",
            },
        ));
    }
    if first == '{' {
        return parse_set(&chars, text.len());
    }
    if let Some(&(at, _)) = chars.iter().find(|(_, c)| *c == '{') {
        return Err((
            at,
            ParseProblem::Unexpected {
                found: '{',
                expected: "'{' only at the start of a set value",
            },
        ));
    }

    let compact: String = chars.iter().map(|&(_, c)| c).collect();
    match compact.parse::<f64>() {
        Ok(number) => {
            if let Some(reason) = scalar_input_problem(number) {
                return Err((chars[0].0, ParseProblem::BadScalar { text: compact, reason }));
            }
            // `+ 0.0` turns -0.0 into 0.0.
            Ok(scalar_value(number + 0.0))
        }
        Err(_) => Ok(Value {
            r#type: Type::Text as i32,
            text: Some(Text { value: compact }),
            ..Default::default()
        }),
    }
}

/// Every `{`, `[` and `(` is closed by its partner, in order.
fn check_brackets(chars: &[(usize, char)]) -> Result<(), (usize, ParseProblem)> {
    for (open, close) in [('{', '}'), ('[', ']'), ('(', ')')] {
        let mut unclosed: Vec<usize> = Vec::new();
        for &(at, c) in chars {
            if c == open {
                unclosed.push(at);
            } else if c == close && unclosed.pop().is_none() {
                return Err((at, ParseProblem::MismatchedBracket(close)));
            }
        }
        if let Some(&at) = unclosed.first() {
            return Err((at, ParseProblem::MismatchedBracket(open)));
        }
    }
    Ok(())
}

/// A cursor over the non-whitespace characters of a value.
struct Cursor<'a> {
    chars: &'a [(usize, char)],
    next: usize,
    /// Offset reported for "unexpected end".
    end_offset: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<(usize, char)> {
        self.chars.get(self.next).copied()
    }

    /// Consumes `want` or reports what was found instead.
    fn expect(
        &mut self,
        want: &[char],
        expected: &'static str,
    ) -> Result<char, (usize, ParseProblem)> {
        match self.peek() {
            Some((_, c)) if want.contains(&c) => {
                self.next += 1;
                Ok(c)
            }
            Some((at, found)) => Err((at, ParseProblem::Unexpected { found, expected })),
            None => Err((self.end_offset, ParseProblem::UnexpectedEnd { expected })),
        }
    }

    /// Consumes a run of characters not in `stops`; returns its offset and text.
    fn word(&mut self, stops: &[char]) -> (usize, String) {
        let start = self.peek().map_or(self.end_offset, |(at, _)| at);
        let mut word = String::new();
        while let Some((_, c)) = self.peek() {
            if stops.contains(&c) {
                break;
            }
            word.push(c);
            self.next += 1;
        }
        (start, word)
    }

    fn expect_end(&self, after: &'static str) -> Result<(), (usize, ParseProblem)> {
        match self.peek() {
            None => Ok(()),
            Some((at, found)) => Err((at, ParseProblem::Unexpected { found, expected: after })),
        }
    }

    fn integer(&mut self) -> Result<(usize, u64), (usize, ParseProblem)> {
        let (at, word) = self.word(&['-', ',', '[', ']']);
        if word.is_empty() {
            return match self.peek() {
                Some((at, found)) => {
                    Err((at, ParseProblem::Unexpected { found, expected: "a number" }))
                }
                None => {
                    Err((self.end_offset, ParseProblem::UnexpectedEnd { expected: "a number" }))
                }
            };
        }
        // Only plain decimal digits: `u64::from_str` would also take a '+'.
        if !word.chars().all(|c| c.is_ascii_digit()) {
            return Err((at, ParseProblem::BadInteger { text: word }));
        }
        word.parse::<u64>()
            .map(|n| (at, n))
            .map_err(|_| (at, ParseProblem::BadInteger { text: word }))
    }
}

fn parse_ranges(
    chars: &[(usize, char)],
    end_offset: usize,
) -> Result<Value, (usize, ParseProblem)> {
    let mut cursor = Cursor { chars, next: 1, end_offset };
    let mut pairs = Vec::new();
    if matches!(cursor.peek(), Some((_, ']'))) {
        cursor.next += 1;
    } else {
        loop {
            let (at, begin) = cursor.integer()?;
            cursor.expect(&['-'], "'-' between range bounds")?;
            let (_, end) = cursor.integer()?;
            if begin > end {
                return Err((at, ParseProblem::InvertedRange { begin, end }));
            }
            pairs.push((begin, end));
            if cursor.expect(&[',', ']'], "',' or ']'")? == ']' {
                break;
            }
        }
    }
    cursor.expect_end("nothing after ']'")?;
    Ok(Value {
        r#type: Type::Ranges as i32,
        ranges: Some(ranges_from(pairs)),
        ..Default::default()
    })
}

fn parse_set(chars: &[(usize, char)], end_offset: usize) -> Result<Value, (usize, ParseProblem)> {
    let mut cursor = Cursor { chars, next: 1, end_offset };
    let mut items = Vec::new();
    if matches!(cursor.peek(), Some((_, '}'))) {
        cursor.next += 1;
    } else {
        loop {
            let (at, item) = cursor.word(&['{', '}', ',']);
            if item.is_empty() {
                return Err((at, ParseProblem::EmptySetItem));
            }
            items.push(item);
            if cursor.expect(&[',', '}'], "',' or '}'")? == '}' {
                break;
            }
        }
    }
    cursor.expect_end("nothing after '}'")?;
    Ok(Value { r#type: Type::Set as i32, set: Some(Set { item: items }), ..Default::default() })
}
