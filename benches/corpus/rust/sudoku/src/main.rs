//! sudoku: a backtracking Sudoku solver with bitmask candidate sets and the
//! most-constrained-cell heuristic. Puzzles are made by shuffling a solved
//! grid (digit relabelling, row/column permutations within bands) and
//! removing clues; every solution is checked for validity.
//!
//! argv[1]: number of puzzles (default DEFAULT_SIZE).
//! Output : "checksum: <u64>".

const DEFAULT_SIZE: u64 = 9000;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[derive(Clone)]
struct Board {
    cell: [u8; 81],
    rows: [u16; 9],
    cols: [u16; 9],
    boxes: [u16; 9],
}

impl Board {
    fn new(cells: &[u8; 81]) -> Board {
        let mut b = Board { cell: [0; 81], rows: [0; 9], cols: [0; 9], boxes: [0; 9] };
        for (i, &d) in cells.iter().enumerate() {
            if d != 0 {
                b.place(i, d);
            }
        }
        b
    }
    fn place(&mut self, i: usize, d: u8) {
        let bit = 1u16 << d;
        self.cell[i] = d;
        self.rows[i / 9] |= bit;
        self.cols[i % 9] |= bit;
        self.boxes[(i / 27) * 3 + (i % 9) / 3] |= bit;
    }
    fn remove(&mut self, i: usize) {
        let bit = !(1u16 << self.cell[i]);
        self.cell[i] = 0;
        self.rows[i / 9] &= bit;
        self.cols[i % 9] &= bit;
        self.boxes[(i / 27) * 3 + (i % 9) / 3] &= bit;
    }
    fn candidates(&self, i: usize) -> u16 {
        !(self.rows[i / 9] | self.cols[i % 9] | self.boxes[(i / 27) * 3 + (i % 9) / 3]) & 0x3fe
    }
    /// Counts solutions up to `limit`, keeping the first one found in `first`.
    fn solve(&mut self, limit: u32, nodes: &mut u64, first: &mut Option<[u8; 81]>) -> u32 {
        *nodes += 1;
        let mut best = usize::MAX;
        let mut best_count = 10;
        for i in 0..81 {
            if self.cell[i] == 0 {
                let c = self.candidates(i).count_ones();
                if c < best_count {
                    best = i;
                    best_count = c;
                    if c <= 1 {
                        break;
                    }
                }
            }
        }
        if best == usize::MAX {
            if first.is_none() {
                *first = Some(self.cell);
            }
            return 1;
        }
        let mut found = 0;
        let mut cand = self.candidates(best);
        while cand != 0 && found < limit {
            let d = cand.trailing_zeros() as u8;
            cand &= cand - 1;
            self.place(best, d);
            found += self.solve(limit - found, nodes, first);
            self.remove(best);
        }
        found
    }
}

fn valid(s: &[u8; 81]) -> bool {
    (0..9).all(|k| {
        let (mut r, mut c, mut b) = (0u16, 0u16, 0u16);
        for j in 0..9 {
            r |= 1 << s[k * 9 + j];
            c |= 1 << s[j * 9 + k];
            b |= 1 << s[(k / 3 * 3 + j / 3) * 9 + k % 3 * 3 + j % 3];
        }
        r == 0x3fe && c == 0x3fe && b == 0x3fe
    })
}

fn main() {
    let count: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(DEFAULT_SIZE);
    let mut rng = Rng(2025);
    // a solved grid by the classic shifted-row pattern
    let mut base = [0u8; 81];
    for r in 0..9 {
        for c in 0..9 {
            base[r * 9 + c] = ((r * 3 + r / 3 + c) % 9 + 1) as u8;
        }
    }
    let mut sum: u64 = 0;
    let mut nodes: u64 = 0;
    for _ in 0..count {
        let mut relabel: Vec<u8> = (1..=9).collect();
        for i in (1..9).rev() {
            relabel.swap(i, rng.below(i + 1));
        }
        let mut perm = [0usize; 9];
        for band in 0..3 {
            let mut p = [0, 1, 2];
            for i in (1..3).rev() {
                p.swap(i, rng.below(i + 1));
            }
            for k in 0..3 {
                perm[band * 3 + k] = band * 3 + p[k];
            }
        }
        let mut grid = [0u8; 81];
        for r in 0..9 {
            for c in 0..9 {
                let v = base[perm[r] * 9 + perm[c]];
                grid[r * 9 + c] = relabel[v as usize - 1];
            }
        }
        let clues = 24 + rng.below(8);
        let mut order: Vec<usize> = (0..81).collect();
        for i in (1..81).rev() {
            order.swap(i, rng.below(i + 1));
        }
        for &i in &order[clues..] {
            grid[i] = 0;
        }
        let mut board = Board::new(&grid);
        let mut first = None;
        let n = board.solve(2, &mut nodes, &mut first);
        let sol = first.expect("a puzzle made from a solved grid has a solution");
        if !valid(&sol) {
            println!("checksum: invalid");
            std::process::exit(1);
        }
        sum = sum.wrapping_mul(31).wrapping_add(u64::from(n));
        for &d in sol.iter().step_by(7) {
            sum = sum.wrapping_mul(11).wrapping_add(u64::from(d));
        }
    }
    sum = sum.wrapping_mul(31).wrapping_add(nodes);
    println!("checksum: {sum}");
}
