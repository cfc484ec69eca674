//! Where the scanners report what a reviewer must see: warnings and unplaced lines.

use crate::model::{UnparsedLine, Warning};
use crate::text::Line;

#[derive(Debug, Default)]
pub(crate) struct Sink {
    pub warnings: Vec<Warning>,
    pub unparsed: Vec<UnparsedLine>,
}

impl Sink {
    pub fn warn(&mut self, line: usize, message: impl Into<String>) {
        self.warnings.push(Warning {
            line,
            message: message.into(),
        });
    }

    pub fn unparsed(&mut self, line: &Line) {
        if !line.is_blank() && !self.unparsed.iter().any(|u| u.line == line.no) {
            self.unparsed.push(UnparsedLine {
                line: line.no,
                text: line.text.clone(),
            });
        }
    }
}
