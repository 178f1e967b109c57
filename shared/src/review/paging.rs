//! The review lists (import issues, school moves, important notices) a page at a time. Each list's index entries
//! are small and read whole, so the list can be ordered and counted; only the page's entries are loaded in full, in
//! batches, so a page costs the same however long the list grows.

use std::ops::Range;

use serde::Serialize;

/// Rows per page of a review list, as Mavis pages its lists (pages.md §9).
pub const PAGE_SIZE: usize = 50;

/// Where a page sits in its list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PageInfo {
    /// From 1. A page past the end is the last page, as Mavis's Pagy answers.
    pub page: usize,
    /// At least 1, even for an empty list.
    pub pages: usize,
    pub page_size: usize,
    /// Entries in the whole list.
    pub total: usize,
}

impl PageInfo {
    pub fn new(total: usize, requested: usize) -> Self {
        let pages = total.div_ceil(PAGE_SIZE).max(1);
        PageInfo { page: requested.clamp(1, pages), pages, page_size: PAGE_SIZE, total }
    }

    fn range(&self) -> Range<usize> {
        let start = (self.page - 1) * self.page_size;
        start.min(self.total)..(start + self.page_size).min(self.total)
    }
}

/// The requested page of an ordered list of entries.
pub fn page_of<T>(mut entries: Vec<T>, requested: usize) -> (Vec<T>, PageInfo) {
    let info = PageInfo::new(entries.len(), requested);
    let range = info.range();
    entries.truncate(range.end);
    let page = entries.split_off(range.start);
    (page, info)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_paging_a_list_should_give_bounded_pages_and_clamp_the_page_number() {
        let (page, info) = page_of((0..120).collect::<Vec<_>>(), 2);
        assert_eq!(page, (50..100).collect::<Vec<_>>());
        assert_eq!(info, PageInfo { page: 2, pages: 3, page_size: 50, total: 120 });
        let (page, info) = page_of((0..120).collect::<Vec<_>>(), 9);
        assert_eq!((page, info.page), ((100..120).collect::<Vec<_>>(), 3), "past the end is the last page");
        let (page, info) = page_of((0..3).collect::<Vec<_>>(), 0);
        assert_eq!((page, info.page, info.pages), (vec![0, 1, 2], 1, 1));
        let (page, info) = page_of(Vec::<u8>::new(), 1);
        assert_eq!((page.len(), info.pages, info.total), (0, 1, 0));
    }
}
