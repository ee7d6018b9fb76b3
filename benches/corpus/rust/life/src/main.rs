//! life: Conway's Game of Life on a torus, twice: a byte-per-cell grid with
//! neighbour counting through iterators, and a bit-packed grid (64 cells per
//! u64) with word-parallel adder logic. The two must agree every generation.
//!
//! argv[1]: number of generations (default DEFAULT_SIZE).
//! Output : "checksum: <u64>".

const DEFAULT_SIZE: u64 = 480;
const W: usize = 256;
const H: usize = 192;

struct ByteGrid {
    cells: Vec<u8>,
}

impl ByteGrid {
    fn step(&self) -> ByteGrid {
        let mut next = vec![0u8; W * H];
        for y in 0..H {
            let up = (y + H - 1) % H;
            let down = (y + 1) % H;
            for x in 0..W {
                let left = (x + W - 1) % W;
                let right = (x + 1) % W;
                let n: u8 = [
                    (up, left),
                    (up, x),
                    (up, right),
                    (y, left),
                    (y, right),
                    (down, left),
                    (down, x),
                    (down, right),
                ]
                .iter()
                .map(|&(r, c)| self.cells[r * W + c])
                .sum();
                let alive = self.cells[y * W + x] == 1;
                next[y * W + x] = u8::from(n == 3 || (alive && n == 2));
            }
        }
        ByteGrid { cells: next }
    }
}

const WORDS: usize = W / 64;

struct BitGrid {
    rows: Vec<[u64; WORDS]>,
}

fn shift_west(row: &[u64; WORDS]) -> [u64; WORDS] {
    // cell x takes the value of cell x-1 (bit i of word k is cell 64k+i)
    let mut out = [0u64; WORDS];
    for k in 0..WORDS {
        let carry = row[(k + WORDS - 1) % WORDS] >> 63;
        out[k] = (row[k] << 1) | carry;
    }
    out
}

fn shift_east(row: &[u64; WORDS]) -> [u64; WORDS] {
    let mut out = [0u64; WORDS];
    for k in 0..WORDS {
        let carry = row[(k + 1) % WORDS] << 63;
        out[k] = (row[k] >> 1) | carry;
    }
    out
}

impl BitGrid {
    fn step(&self) -> BitGrid {
        let mut rows = vec![[0u64; WORDS]; H];
        for (y, out) in rows.iter_mut().enumerate() {
            let up = &self.rows[(y + H - 1) % H];
            let mid = &self.rows[y];
            let down = &self.rows[(y + 1) % H];
            let ns = [
                shift_west(up),
                *up,
                shift_east(up),
                shift_west(mid),
                shift_east(mid),
                shift_west(down),
                *down,
                shift_east(down),
            ];
            for k in 0..WORDS {
                // a bit-sliced counter of the eight neighbours: ones, twos, fours
                let (mut b0, mut b1, mut b2) = (0u64, 0u64, 0u64);
                for n in &ns {
                    let v = n[k];
                    let c0 = b0 & v;
                    b0 ^= v;
                    let c1 = b1 & c0;
                    b1 ^= c0;
                    b2 |= c1;
                }
                let three = b0 & b1 & !b2;
                let two = !b0 & b1 & !b2;
                out[k] = three | (two & mid[k]);
            }
        }
        BitGrid { rows }
    }

    fn to_bytes(&self) -> Vec<u8> {
        let mut v = vec![0u8; W * H];
        for (y, row) in self.rows.iter().enumerate() {
            for x in 0..W {
                v[y * W + x] = ((row[x / 64] >> (x % 64)) & 1) as u8;
            }
        }
        v
    }
}

fn main() {
    let gens: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(DEFAULT_SIZE);
    let mut seed: u64 = 0x1234_5678_9abc_def1;
    let mut cells = vec![0u8; W * H];
    for c in cells.iter_mut() {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        *c = u8::from(seed % 10 < 3);
    }
    let mut rows = vec![[0u64; WORDS]; H];
    for y in 0..H {
        for x in 0..W {
            rows[y][x / 64] |= u64::from(cells[y * W + x]) << (x % 64);
        }
    }
    let mut a = ByteGrid { cells };
    let mut b = BitGrid { rows };
    let mut sum: u64 = 0;
    for g in 0..gens {
        a = a.step();
        b = b.step();
        if g % 8 == 0 && a.cells != b.to_bytes() {
            println!("checksum: mismatch at generation {g}");
            std::process::exit(1);
        }
        let pop: u64 = b.rows.iter().flatten().map(|w| u64::from(w.count_ones())).sum();
        sum = sum.wrapping_mul(31).wrapping_add(pop);
    }
    for (i, &c) in a.cells.iter().enumerate() {
        if c == 1 {
            sum = sum.wrapping_mul(1_000_003).wrapping_add(i as u64);
        }
    }
    println!("checksum: {sum}");
}
