//! `?page=1&per_page=20` (at most 100) and the `{"items","page","per_page","total"}` reply.

use crate::problem::Problem;
use serde::{Deserialize, Serialize};

pub const DEFAULT_PER_PAGE: u32 = 20;
pub const MAX_PER_PAGE: u32 = 100;

#[derive(Clone, Copy, Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// 1-based page number (default 1).
    #[param(minimum = 1, maximum = 1_000_000)]
    pub page: Option<u32>,
    /// Items per page (default 20, at most 100).
    #[param(minimum = 1, maximum = 100)]
    pub per_page: Option<u32>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pagination {
    pub page: u32,
    pub per_page: u32,
}

impl PageParams {
    /// 422 naming the parameter when it is out of range.
    pub fn validate(self) -> Result<Pagination, Problem> {
        let page = self.page.unwrap_or(1);
        let per_page = self.per_page.unwrap_or(DEFAULT_PER_PAGE);
        if page == 0 || page > 1_000_000 {
            return Err(Problem::invalid("page", "must be between 1 and 1000000"));
        }
        if per_page == 0 || per_page > MAX_PER_PAGE {
            return Err(Problem::invalid("per_page", "must be between 1 and 100"));
        }
        Ok(Pagination { page, per_page })
    }
}

impl Pagination {
    pub fn offset(&self) -> i64 {
        i64::from(self.page - 1) * i64::from(self.per_page)
    }
    pub fn limit(&self) -> i64 {
        i64::from(self.per_page)
    }
    pub fn page_count(&self, total: i64) -> i64 {
        ((total + self.limit() - 1) / self.limit()).max(1)
    }

    /// The total of a listing when this page, holding `rows` rows, tells it, so no count query is
    /// needed: a page that is not full is the last one (unless it is empty past the first page,
    /// where the rows may have ended anywhere before). `None`: count.
    pub fn total_if_last(&self, rows: usize) -> Option<i64> {
        let rows = i64::try_from(rows).ok()?;
        let last_page = rows < self.limit() && (rows > 0 || self.offset() == 0);
        last_page.then(|| self.offset() + rows)
    }
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Paginated<T> {
    pub items: Vec<T>,
    pub page: u32,
    pub per_page: u32,
    pub total: i64,
}

impl<T> Paginated<T> {
    pub fn new(items: Vec<T>, pagination: Pagination, total: i64) -> Self {
        Self { items, page: pagination.page, per_page: pagination.per_page, total }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_page_that_is_not_full_tells_the_total() {
        let p = |page, per_page| Pagination { page, per_page };
        assert_eq!(p(1, 20).total_if_last(0), Some(0), "nothing at all");
        assert_eq!(p(1, 20).total_if_last(7), Some(7));
        assert_eq!(p(3, 20).total_if_last(7), Some(47), "two full pages before it");
        assert_eq!(p(1, 20).total_if_last(20), None, "a full page: there may be more");
        assert_eq!(p(3, 20).total_if_last(0), None, "empty past the first page: count");
    }

    #[test]
    fn defaults_and_limits() {
        let p = PageParams::default().validate().unwrap();
        assert_eq!((p.page, p.per_page, p.offset()), (1, 20, 0));
        let p = PageParams { page: Some(3), per_page: Some(100) }.validate().unwrap();
        assert_eq!(p.offset(), 200);
        assert_eq!(p.page_count(201), 3);
        assert_eq!(PageParams { page: Some(0), per_page: None }.validate().unwrap_err().errors[0].field, "page");
        assert_eq!(PageParams { page: None, per_page: Some(101) }.validate().unwrap_err().errors[0].field, "per_page");
    }
}
