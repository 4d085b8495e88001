//! Bounds on a listing, so an HR system that never ends one (a page token named again, more pages than its
//! people could fill, page after page of records that all fail) fails its own run with a named error instead
//! of reading for ever. Pure: what a run remembers between pages is in its checkpoint.

use crate::store::Checkpoint;
use sha2::{Digest, Sha256};

/// Page tokens a run remembers (as short digests): a token named again within these is a loop.
pub const RECENT_TOKENS: usize = 16;
/// Pages in a row whose every record failed before the run stops.
pub const FAILING_PAGES: u32 = 5;
/// Pages a first import may read (a 500,000-person company at 50 a page).
pub const FIRST_IMPORT_PAGES: u64 = 10_000;
/// Pages any listing may read beyond two per person the connection had.
pub const SPARE_PAGES: u64 = 20;

/// What one page brought.
#[derive(Debug, Clone, Copy)]
pub struct PageRead<'a> {
    /// The token for the page after it.
    pub next: Option<&'a str>,
    pub records: usize,
    pub failures: usize,
}

/// The most pages a listing of a connection with `active_people` (as its last run counted them; 0 before its
/// first import) may read: every page brings someone, so twice the people and some to spare is more than a
/// listing with leavers and partial pages needs.
pub fn page_limit(active_people: u64) -> u64 {
    if active_people == 0 { FIRST_IMPORT_PAGES } else { active_people.saturating_mul(2).saturating_add(SPARE_PAGES) }
}

/// Notes a page read in `checkpoint` (its `pages` not yet counted); the reason the listing must stop, if it must.
pub fn after_page(checkpoint: &mut Checkpoint, active_people: u64, page: PageRead<'_>) -> Result<(), String> {
    if page.records == 0 && page.failures > 0 {
        checkpoint.failing_pages = checkpoint.failing_pages.saturating_add(1);
    } else {
        checkpoint.failing_pages = 0;
    }
    if checkpoint.failing_pages >= FAILING_PAGES {
        return Err(format!("every record failed on {FAILING_PAGES} pages in a row"));
    }
    let limit = page_limit(active_people);
    if checkpoint.pages.saturating_add(1) >= limit && page.next.is_some() {
        return Err(format!("{limit} pages read and it names another (the connection had {active_people} people)"));
    }
    if let Some(next) = page.next {
        let full = Sha256::digest(next.as_bytes());
        let digest = hex::encode(full.get(..8).unwrap_or_default());
        if checkpoint.recent_pages.contains(&digest) {
            return Err("it named a page it had already given".into());
        }
        checkpoint.recent_pages.push(digest);
        let over = checkpoint.recent_pages.len().saturating_sub(RECENT_TOKENS);
        checkpoint.recent_pages.drain(..over);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn page(next: Option<&str>, records: usize, failures: usize) -> PageRead<'_> {
        PageRead { next, records, failures }
    }

    /// Reads pages until the listing ends or is stopped: how many were read, and why it stopped.
    fn read(active: u64, pages: impl Iterator<Item = (Option<String>, usize, usize)>) -> (u64, Option<String>) {
        let mut checkpoint = Checkpoint::default();
        for (next, records, failures) in pages {
            if let Err(why) = after_page(&mut checkpoint, active, page(next.as_deref(), records, failures)) {
                return (checkpoint.pages, Some(why));
            }
            checkpoint.pages += 1;
            if next.is_none() {
                break;
            }
        }
        (checkpoint.pages, None)
    }

    #[test]
    fn a_token_named_again_stops_the_listing() {
        let looping = ["a", "b", "c", "b"].into_iter().map(|t| (Some(t.to_owned()), 10, 0));
        assert_eq!(read(100, looping), (3, Some("it named a page it had already given".into())));
        let same = std::iter::repeat_with(|| (Some("same".to_owned()), 1000, 0)).take(3);
        assert_eq!(read(0, same).0, 1);
    }

    #[test]
    fn more_pages_than_the_people_could_fill_stop_the_listing() {
        let endless = (0u64..).map(|n| (Some(format!("page-{n}")), 1000, 0));
        let (pages, why) = read(46, endless);
        assert_eq!(pages, page_limit(46) - 1);
        assert!(why.is_some_and(|w| w.contains("112 pages read")));
        // A first import is bounded too, by a company far larger than any one tenant.
        let endless = (0u64..).map(|n| (Some(format!("page-{n}")), 1, 0));
        assert_eq!(read(0, endless).0, FIRST_IMPORT_PAGES - 1);
    }

    #[test]
    fn pages_whose_every_record_fails_stop_the_listing_and_one_good_page_resets_the_count() {
        let failing = (0u64..).map(|n| (Some(format!("p{n}")), 0, 50));
        assert_eq!(read(1000, failing), (4, Some("every record failed on 5 pages in a row".into())));
        let mixed = (0u64..40).map(|n| (Some(format!("p{n}")), usize::from(n % 4 == 0), 50));
        assert_eq!(read(1000, mixed.chain([(None, 1, 0)])), (41, None));
    }

    proptest! {
        /// A listing of distinct tokens within the people's bound ends as the HR system ends it; whatever the
        /// tokens, the checkpoint never remembers more than `RECENT_TOKENS` of them.
        #[test]
        fn honest_listings_end_and_memory_stays_small(active in 1u64..500, pages in 1u64..200) {
            let pages = pages.min(page_limit(active) - 1);
            let listing = (0..pages).map(|n| (if n + 1 == pages { None } else { Some(format!("t{n}")) }, 1, 0));
            prop_assert_eq!(read(active, listing), (pages, None));
        }

        #[test]
        fn any_sequence_of_pages_is_judged_without_panicking(
            active in any::<u64>(),
            pages in proptest::collection::vec((proptest::option::of("[a-c]{0,2}"), any::<usize>(), any::<usize>()), 0..60),
        ) {
            let mut checkpoint = Checkpoint { pages: u64::MAX - 3, ..Checkpoint::default() };
            for (next, records, failures) in pages {
                let _ = after_page(&mut checkpoint, active, page(next.as_deref(), records, failures));
                prop_assert!(checkpoint.recent_pages.len() <= RECENT_TOKENS);
            }
        }
    }
}
