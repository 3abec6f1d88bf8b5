//! A Merkle tree laid out exactly as OpenZeppelin's `StandardMerkleTree` (`@openzeppelin/merkle-tree`), so its
//! root and proofs verify with `MerkleProof.verify` on chain.
//!
//! Leaves are sorted by hash and stored in reverse order at the end of an array of `2n − 1` nodes; node `i` is
//! `hash_pair(tree[2i+1], tree[2i+2])` with the pair hashed in ascending byte order.

use alloy::primitives::{B256, keccak256};

use crate::parallel;

/// Levels and leaf sets at least this long are hashed, and sorted, on every core.
pub const PARALLEL_FROM: usize = 16_384;

/// A complete tree over a set of leaf hashes.
#[derive(Debug, Clone)]
pub struct MerkleTree {
    nodes: Vec<B256>,
    leaf_count: usize,
}

impl MerkleTree {
    /// Builds the tree over `leaves` (already hashed), in any order. Large trees sort their leaves and hash each
    /// level on every core; the result is the same.
    pub fn new(mut leaves: Vec<B256>) -> Self {
        let n = leaves.len();
        if n == 0 {
            return Self { nodes: Vec::new(), leaf_count: 0 };
        }
        let len = 2 * n - 1;
        let mut nodes = vec![B256::ZERO; len];
        sort_descending_into(&mut leaves, &mut nodes[len - n..]);
        // Level d holds nodes 2^d − 1 .. 2^(d+1) − 1; its children all sit past it, so each level is one pass
        // that reads only the level below.
        let internal = len - n;
        let mut starts: Vec<usize> =
            (0..usize::BITS).map(|d| (1usize << d) - 1).take_while(|&s| s < internal).collect();
        while let Some(start) = starts.pop() {
            let end = (2 * start + 1).min(internal);
            let (parents, below) = nodes.split_at_mut(end);
            parallel::fill(&mut parents[start..], PARALLEL_FROM, |i| {
                let child = 2 * (start + i) + 1 - end;
                hash_pair(&below[child], &below[child + 1])
            });
        }
        Self { nodes, leaf_count: n }
    }

    /// The root; `B256::ZERO` for an empty tree (an epoch with nothing to claim).
    pub fn root(&self) -> B256 {
        self.nodes.first().copied().unwrap_or(B256::ZERO)
    }

    /// Number of leaves.
    pub fn len(&self) -> usize {
        self.leaf_count
    }

    /// Whether the tree has no leaves.
    pub fn is_empty(&self) -> bool {
        self.leaf_count == 0
    }

    /// The sibling path of `leaf`, or `None` if it is not in the tree.
    pub fn proof(&self, leaf: &B256) -> Option<Vec<B256>> {
        Some(sibling_indices(self.index_of(leaf)?).into_iter().map(|i| self.nodes[i]).collect())
    }

    /// Where `leaf` sits among [`MerkleTree::nodes`], or `None` if it is not in the tree.
    pub fn index_of(&self, leaf: &B256) -> Option<usize> {
        let first_leaf = self.nodes.len() - self.leaf_count;
        // Leaves sit in descending order in nodes[first_leaf..].
        let offset = self.nodes[first_leaf..].binary_search_by(|probe| leaf.cmp(probe)).ok()?;
        Some(first_leaf + offset)
    }

    /// Every node, root first: with a leaf's index, all a proof is made of ([`sibling_indices`]).
    pub fn nodes(&self) -> &[B256] {
        &self.nodes
    }
}

/// The nodes whose hashes prove node `index` of a tree laid out as [`MerkleTree::nodes`]: its sibling, its
/// parent's sibling, and so on up to the root's children.
pub fn sibling_indices(mut index: usize) -> Vec<usize> {
    let mut path = Vec::new();
    while index > 0 {
        path.push(if index % 2 == 1 { index + 1 } else { index - 1 });
        index = (index - 1) / 2;
    }
    path
}

/// `keccak256` of the two nodes in ascending order (OpenZeppelin `Hashes.commutativeKeccak256`).
pub fn hash_pair(a: &B256, b: &B256) -> B256 {
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    let mut buf = [0u8; 64];
    buf[..32].copy_from_slice(lo.as_slice());
    buf[32..].copy_from_slice(hi.as_slice());
    keccak256(buf)
}

/// `leaves` sorted, written into `out` largest first (the order the leaves sit at the end of the tree). A large
/// set is sorted as two halves on two threads, then merged.
fn sort_descending_into(leaves: &mut [B256], out: &mut [B256]) {
    let large = leaves.len() >= PARALLEL_FROM;
    let (lo, hi) = leaves.split_at_mut(leaves.len() / 2);
    parallel::join(large, || lo.sort_unstable(), || hi.sort_unstable());
    let (mut a, mut b) = (lo.len(), hi.len());
    for slot in out.iter_mut() {
        // Take the larger of the two halves' remaining tops.
        if b == 0 || (a > 0 && lo[a - 1] >= hi[b - 1]) {
            a -= 1;
            *slot = lo[a];
        } else {
            b -= 1;
            *slot = hi[b];
        }
    }
}

/// Recomputes the root from a leaf and its proof (OpenZeppelin `MerkleProof.processProof`).
pub fn process_proof(leaf: &B256, proof: &[B256]) -> B256 {
    proof.iter().fold(*leaf, |acc, sibling| hash_pair(&acc, sibling))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn leaves(n: usize) -> Vec<B256> {
        (0..n).map(|i| keccak256((i as u64).to_be_bytes())).collect()
    }

    /// The tree as first written (one thread, one sort, node by node from the last), as a reference.
    fn reference_nodes(mut leaves: Vec<B256>) -> Vec<B256> {
        leaves.sort_unstable();
        let (n, len) = (leaves.len(), 2 * leaves.len() - 1);
        let mut nodes = vec![B256::ZERO; len];
        for (i, leaf) in leaves.into_iter().enumerate() {
            nodes[len - 1 - i] = leaf;
        }
        for i in (0..len - n).rev() {
            nodes[i] = hash_pair(&nodes[2 * i + 1], &nodes[2 * i + 2]);
        }
        nodes
    }

    #[test]
    fn a_tree_built_on_several_threads_is_node_for_node_the_reference() {
        // Sizes around the threshold and a power of two, where levels end mid-way or exactly.
        for n in [PARALLEL_FROM - 1, PARALLEL_FROM, 2 * PARALLEL_FROM, 3 * PARALLEL_FROM + 5] {
            let l = leaves(n);
            assert_eq!(MerkleTree::new(l.clone()).nodes, reference_nodes(l), "{n} leaves");
        }
    }

    #[test]
    fn empty_tree_has_zero_root() {
        assert_eq!(MerkleTree::new(vec![]).root(), B256::ZERO);
    }

    #[test]
    fn single_leaf_is_its_own_root() {
        let l = leaves(1);
        let t = MerkleTree::new(l.clone());
        assert_eq!(t.root(), l[0]);
        assert_eq!(t.proof(&l[0]), Some(vec![]));
    }

    #[test]
    fn two_leaves_hash_as_a_pair() {
        let l = leaves(2);
        assert_eq!(MerkleTree::new(l.clone()).root(), hash_pair(&l[0], &l[1]));
    }

    #[test]
    fn unknown_leaf_has_no_proof() {
        let t = MerkleTree::new(leaves(5));
        assert_eq!(t.proof(&B256::repeat_byte(9)), None);
    }

    proptest! {
        #[test]
        fn every_proof_verifies_and_order_does_not_matter(n in 1usize..70, seed in any::<u64>()) {
            let mut l = leaves(n);
            let t = MerkleTree::new(l.clone());
            for leaf in &l {
                prop_assert_eq!(process_proof(leaf, &t.proof(leaf).unwrap()), t.root());
            }
            let k = (seed as usize) % n;
            l.rotate_left(k);
            prop_assert_eq!(MerkleTree::new(l).root(), t.root());
        }
    }
}
