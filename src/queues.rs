//! Splitting a claimed batch into queues that may run side by side: the
//! dispatcher's (one per recipient) and the timer tick's (one per ticket).

use std::collections::HashMap;
use std::hash::Hash;

/// `items` split by `key`, each queue in the items' order, the queues in
/// the order their first item came.
pub fn by_key<T, K: Hash + Eq>(items: impl IntoIterator<Item = T>, key: impl Fn(&T) -> K) -> Vec<Vec<T>> {
    let mut queues: Vec<Vec<T>> = Vec::new();
    let mut index = HashMap::new();
    for item in items {
        let i = *index.entry(key(&item)).or_insert_with(|| {
            queues.push(Vec::new());
            queues.len() - 1
        });
        queues[i].push(item);
    }
    queues
}

#[cfg(test)]
mod tests {
    #[test]
    fn keeps_the_order_within_and_across_queues() {
        let queues = super::by_key([("b", 1), ("a", 2), ("b", 3), ("c", 4), ("a", 5)], |(k, _)| *k);
        assert_eq!(queues, [vec![("b", 1), ("b", 3)], vec![("a", 2), ("a", 5)], vec![("c", 4)]]);
    }
}
