//! The gradebook: students x assignments with each student's latest attempt's score, as JSON,
//! as CSV (RFC 4180, with formula injection neutralised), and with each assignment's average,
//! median and score distribution for the page (an SVG chart drawn on the server).

use crate::domain::Points;
use crate::store::AssignmentRow;
use crate::views::{AssignmentView, CourseRef};
use course_service::access::Course;
use course_service::views::PersonRef;
use lectern_common::ids::{AssignmentId, SubmissionId, UserId};
use serde::Serialize;
use std::collections::HashMap;

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Gradebook {
    pub course: CourseRef,
    /// By due date, then id.
    pub assignments: Vec<AssignmentView>,
    /// Enrolled students by name, then id.
    pub rows: Vec<GradebookRow>,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct GradebookRow {
    pub student: PersonRef,
    /// One per assignment, in the order of `assignments`: the latest attempt's final score (the
    /// score less its late penalty), or null when there is no attempt or it is not graded yet.
    pub scores: Vec<Option<Points>>,
    /// The latest attempt of each assignment, for links on the page.
    #[serde(skip)]
    pub submissions: Vec<Option<SubmissionId>>,
}

impl Gradebook {
    /// `cells`: (assignment, student, latest submission, its final score: after the late
    /// penalty) for the course.
    pub fn build(
        course: &Course,
        assignments: &[AssignmentRow],
        students: Vec<PersonRef>,
        cells: &[(AssignmentId, UserId, SubmissionId, Option<i32>)],
    ) -> Self {
        let column: HashMap<AssignmentId, usize> = assignments.iter().enumerate().map(|(i, a)| (a.id, i)).collect();
        let mut by_student: HashMap<UserId, Vec<(usize, SubmissionId, Option<i32>)>> = HashMap::new();
        for (assignment, student, submission, score) in cells {
            if let Some(&i) = column.get(assignment) {
                by_student.entry(*student).or_default().push((i, *submission, *score));
            }
        }
        let rows = students
            .into_iter()
            .map(|student| {
                let mut scores = vec![None; assignments.len()];
                let mut submissions = vec![None; assignments.len()];
                for (i, submission, score) in by_student.remove(&student.id).unwrap_or_default() {
                    scores[i] = score.map(Points::from_hundredths);
                    submissions[i] = Some(submission);
                }
                GradebookRow { student, scores, submissions }
            })
            .collect();
        Self {
            course: CourseRef { id: course.id, title: course.title.clone() },
            assignments: assignments.iter().map(AssignmentView::from).collect(),
            rows,
        }
    }

    /// RFC 4180: CRLF line ends, every cell made formula-safe and quoted when it needs to be.
    pub fn to_csv(&self) -> String {
        let mut out = String::new();
        let mut header = vec!["Student".to_owned(), "Student ID".to_owned()];
        header.extend(self.assignments.iter().map(|a| format!("{} (max {})", a.title, a.max_points)));
        push_record(&mut out, &header);
        for row in &self.rows {
            let mut record = vec![row.student.display_name.clone(), row.student.id.to_string()];
            record.extend(row.scores.iter().map(|s| s.map(|p| p.to_string()).unwrap_or_default()));
            push_record(&mut out, &record);
        }
        out
    }

    /// Average, median and distribution of each assignment's scores.
    pub fn stats(&self) -> Vec<AssignmentStats> {
        self.assignments
            .iter()
            .enumerate()
            .map(|(i, a)| {
                let scores: Vec<i32> = self
                    .rows
                    .iter()
                    .filter_map(|r| r.scores.get(i).copied().flatten())
                    .map(Points::hundredths)
                    .collect();
                AssignmentStats::of(a.clone(), &scores)
            })
            .collect()
    }
}

fn push_record(out: &mut String, cells: &[String]) {
    let line: Vec<String> = cells.iter().map(|c| csv_cell(c)).collect();
    out.push_str(&line.join(","));
    out.push_str("\r\n");
}

/// A spreadsheet runs a cell starting with `=`, `+`, `-` or `@` (and, in some, a tab or carriage
/// return) as a formula: such cells get a leading `'` (OWASP, CSV injection). Then RFC 4180:
/// a cell with a comma, quote or line break is quoted, its quotes doubled.
pub fn csv_cell(raw: &str) -> String {
    let safe = if raw.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{raw}") } else { raw.to_owned() };
    if safe.contains([',', '"', '\r', '\n']) { format!("\"{}\"", safe.replace('"', "\"\"")) } else { safe }
}

/// Number of bars in the distribution chart: tenths of `max_points`.
pub const BINS: usize = 10;

const CHART_WIDTH: u32 = 320;
const CHART_HEIGHT: u32 = 150;
const CHART_LEFT: u32 = 28;
const CHART_BOTTOM: u32 = 24;
const CHART_TOP: u32 = 12;

/// One assignment's numbers for the gradebook page.
#[derive(Clone, Debug)]
pub struct AssignmentStats {
    pub assignment: AssignmentView,
    pub graded: usize,
    pub average: Option<Points>,
    pub median: Option<Points>,
    pub chart: Chart,
}

/// Geometry of a bar chart, computed here so the template only places numbers in SVG
/// presentation attributes (the CSP forbids inline styles, and there is no script).
#[derive(Clone, Debug)]
pub struct Chart {
    pub width: u32,
    pub height: u32,
    pub baseline: u32,
    pub left: u32,
    pub top: u32,
    pub max_count: usize,
    pub bars: Vec<Bar>,
}

#[derive(Clone, Debug)]
pub struct Bar {
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
    /// Where the label under the bar is centred.
    pub label_x: u32,
    pub label: String,
    pub count: usize,
    /// The bar's range in words, for the chart's data table: "40% to under 50%", "90% to 100%".
    pub range: String,
    /// What the bar means, for the SVG `<title>` (screen readers and hover).
    pub title: String,
}

/// Rounds `num / den` to the nearest integer, halves away from zero (both non-negative here).
fn div_round(num: i64, den: i64) -> i64 {
    if den == 0 { 0 } else { (2 * num + den) / (2 * den) }
}

impl AssignmentStats {
    pub fn of(assignment: AssignmentView, scores: &[i32]) -> Self {
        let mut sorted = scores.to_vec();
        sorted.sort_unstable();
        let n = sorted.len();
        let points = |h: i64| Points::from_hundredths(i32::try_from(h).unwrap_or(i32::MAX));
        let average = (n > 0).then(|| {
            let sum: i64 = sorted.iter().map(|&s| i64::from(s)).sum();
            points(div_round(sum, n as i64))
        });
        let median = match n {
            0 => None,
            _ if n % 2 == 1 => Some(points(i64::from(sorted[n / 2]))),
            _ => Some(points(div_round(i64::from(sorted[n / 2 - 1]) + i64::from(sorted[n / 2]), 2))),
        };
        let chart = Chart::distribution(assignment.max_points.hundredths(), &sorted);
        Self { assignment, graded: n, average, median, chart }
    }
}

impl Chart {
    fn distribution(max_hundredths: i32, scores: &[i32]) -> Self {
        let mut counts = [0usize; BINS];
        let max = i64::from(max_hundredths.max(1));
        for &s in scores {
            let bin = (i64::from(s) * BINS as i64 / max).clamp(0, BINS as i64 - 1);
            counts[bin as usize] += 1;
        }
        let max_count = counts.iter().copied().max().unwrap_or(0);
        let plot_height = CHART_HEIGHT - CHART_BOTTOM - CHART_TOP;
        let baseline = CHART_HEIGHT - CHART_BOTTOM;
        let slot = (CHART_WIDTH - CHART_LEFT) / BINS as u32;
        let bars = counts
            .iter()
            .enumerate()
            .map(|(i, &count)| {
                let height = if max_count == 0 {
                    0
                } else {
                    u32::try_from(div_round((count as i64) * i64::from(plot_height), max_count as i64)).unwrap_or(0)
                };
                let x = CHART_LEFT + slot * i as u32 + 2;
                let (from, to) = (i * 100 / BINS, (i + 1) * 100 / BINS);
                let upper = if i + 1 == BINS { "]" } else { ")" };
                Bar {
                    x,
                    y: baseline - height,
                    width: slot - 4,
                    height,
                    label_x: x + (slot - 4) / 2,
                    label: format!("{from}"),
                    count,
                    range: if i + 1 == BINS { format!("{from}% to {to}%") } else { format!("{from}% to under {to}%") },
                    title: format!(
                        "{count} {} scored in [{from}%, {to}%{upper} of the maximum",
                        if count == 1 { "student" } else { "students" }
                    ),
                }
            })
            .collect();
        Self { width: CHART_WIDTH, height: CHART_HEIGHT, baseline, left: CHART_LEFT, top: CHART_TOP, max_count, bars }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn csv_cells_are_quoted_and_formula_safe() {
        assert_eq!(csv_cell("Ada"), "Ada");
        assert_eq!(csv_cell("Lovelace, Ada"), "\"Lovelace, Ada\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("two\nlines"), "\"two\nlines\"");
        assert_eq!(csv_cell("=1+1"), "'=1+1");
        assert_eq!(csv_cell("+1"), "'+1");
        assert_eq!(csv_cell("-1"), "'-1");
        assert_eq!(csv_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_cell("=HYPERLINK(\"http://x\",\"y\")"), "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"");
        assert_eq!(csv_cell(""), "");
    }

    fn view(max: i32) -> AssignmentView {
        AssignmentView {
            id: AssignmentId::new(),
            course_id: lectern_common::ids::CourseId::new(),
            title: "Essay".into(),
            due_at: String::new(),
            max_points: Points::from_hundredths(max),
            max_attempts: None,
            grades_released: false,
            extended: false,
            late_policy: None,
            closes_at: None,
        }
    }

    #[test]
    fn average_median_and_distribution() {
        let s = AssignmentStats::of(view(1000), &[1000, 500, 750, 0]);
        assert_eq!(s.graded, 4);
        assert_eq!(s.average.unwrap().to_string(), "5.63"); // 22.5 / 4 = 5.625, rounded half up
        assert_eq!(s.median.unwrap().to_string(), "6.25");
        let counts: Vec<usize> = s.chart.bars.iter().map(|b| b.count).collect();
        assert_eq!(counts, [1, 0, 0, 0, 0, 1, 0, 1, 0, 1]);
        let ranges: Vec<&str> = s.chart.bars.iter().map(|b| b.range.as_str()).collect();
        assert_eq!((ranges[0], ranges[4], ranges[9]), ("0% to under 10%", "40% to under 50%", "90% to 100%"));
        let tallest = s.chart.bars.iter().map(|b| b.height).max().unwrap();
        assert_eq!(tallest, s.chart.baseline - s.chart.top);
        assert!(s.chart.bars.iter().all(|b| b.y + b.height == s.chart.baseline));

        let odd = AssignmentStats::of(view(1000), &[300, 100, 200]);
        assert_eq!(odd.median.unwrap().to_string(), "2");
        assert_eq!(odd.average.unwrap().to_string(), "2");

        let none = AssignmentStats::of(view(1000), &[]);
        assert!(none.average.is_none() && none.median.is_none());
        assert!(none.chart.bars.iter().all(|b| b.height == 0));
    }
}
