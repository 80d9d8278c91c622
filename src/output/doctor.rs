//! `replenish doctor`'s table: one line per check (✓ works, ! works with a caveat, ✗ must be
//! fixed, ? not reachable, - skipped), the fix under each problem, and a closing verdict.
//! Upstream text (Cin7 company and location names, error bodies) is made terminal-safe and cut
//! at [`ERROR_MAX`] characters a line (a check may list every location), and lines are wrapped
//! to the terminal's width.

use crate::core::doctor::{Report, Status};
use crate::output::safe::{Cut, ERROR_MAX, clip, terminal_safe, wrap};

fn mark(status: Status) -> &'static str {
    match status {
        Status::Ok => "✓",
        Status::Warn => "!",
        Status::Skipped => "-",
        Status::Unreachable => "?",
        Status::Fail => "✗",
    }
}

/// The report as lines for a person, wrapped to `width` columns.
pub fn table(report: &Report, width: u16) -> String {
    let mut out = String::new();
    match &report.config {
        Some(path) => {
            let head = format!("replenish doctor — {}", terminal_safe(path));
            out.push_str(&wrap(&head, width, 2));
            out.push('\n');
        }
        None => out.push_str("replenish doctor\n"),
    }
    for c in &report.checks {
        // Continuation lines start under the text they continue.
        let check = format!(
            "{} {:<8} {}",
            mark(c.status),
            c.area,
            clip(&c.detail, ERROR_MAX, Cut::End)
        );
        out.push_str(&wrap(&check, width, 11));
        out.push('\n');
        if let Some(fix) = c.fix.as_ref().filter(|_| c.status != Status::Ok) {
            let fix = format!("  {:<8} fix: {}", "", clip(fix, ERROR_MAX, Cut::End));
            out.push_str(&wrap(&fix, width, 5));
            out.push('\n');
        }
    }
    let count = |s: Status| report.checks.iter().filter(|c| c.status == s).count();
    let (fail, unreachable, warn) = (
        count(Status::Fail),
        count(Status::Unreachable),
        count(Status::Warn),
    );
    out.push_str(&match report.exit_code {
        0 if warn == 0 => "everything needed works (exit 0)\n".to_string(),
        0 => format!("everything needed works; {warn} warning(s) above (exit 0)\n"),
        1 => format!("{unreachable} service(s) could not be reached (exit 1)\n"),
        _ => format!("{fail} problem(s) to fix (exit 2)\n"),
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::doctor::Check;

    #[test]
    fn one_line_per_check_with_the_fix_under_problems() {
        let report = Report::new(
            Some("/srv/replenish.toml".into()),
            vec![
                Check::ok("config", "/srv/replenish.toml is valid").with_fix("never shown"),
                Check::new("scope", Status::Fail, "read_orders not granted").with_fix("grant it"),
                Check::new("cin7", Status::Ok, "account \"Evil\u{1b}]0;pwned\u{7}\""),
            ],
        );
        assert_eq!(
            table(&report, 100),
            "replenish doctor — /srv/replenish.toml\n\
             ✓ config   /srv/replenish.toml is valid\n\
             ✗ scope    read_orders not granted\n\
             \x20          fix: grant it\n\
             ✓ cin7     account \"Evil\\u{1b}]0;pwned\\u{7}\"\n\
             1 problem(s) to fix (exit 2)\n"
        );
    }
}
