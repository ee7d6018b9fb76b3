//! collections: the standard library's containers under a mixed workload
//! modelled on an inventory system: a HashMap from item names (String) to
//! records, a BTreeMap index by price, a VecDeque of pending orders, a
//! BinaryHeap of restock deadlines and a HashSet of flagged items. Uses the
//! default SipHash hasher, String formatting and iterator adapters.
//!
//! argv[1]: number of orders (default DEFAULT_SIZE).
//! Output : "checksum: <u64>".

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap, HashSet, VecDeque};

const DEFAULT_SIZE: u64 = 500000;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[derive(Debug)]
struct Item {
    stock: u32,
    price: u32,
    sold: u64,
}

struct Order {
    item: String,
    qty: u32,
    tick: u64,
}

fn main() {
    let orders: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(DEFAULT_SIZE);
    let mut rng = Rng(0x5eed_1234_abcd_ef01);
    let names: Vec<String> = (0..3000)
        .map(|i| format!("item-{}-{}", i % 97, i * 7919 % 10007))
        .collect();
    let mut items: HashMap<String, Item> = HashMap::new();
    let mut by_price: BTreeMap<(u32, String), ()> = BTreeMap::new();
    for n in &names {
        let price = (rng.next() % 5000) as u32 + 1;
        items.insert(n.clone(), Item { stock: 20, price, sold: 0 });
        by_price.insert((price, n.clone()), ());
    }
    let mut pending: VecDeque<Order> = VecDeque::new();
    let mut restock: BinaryHeap<Reverse<(u64, String)>> = BinaryHeap::new();
    let mut flagged: HashSet<String> = HashSet::new();
    let mut sum: u64 = 0;
    for tick in 0..orders {
        let r = rng.next();
        let name = &names[(r % names.len() as u64) as usize];
        pending.push_back(Order { item: name.clone(), qty: (r >> 20) as u32 % 5 + 1, tick });
        // serve up to two orders per tick
        for _ in 0..2 {
            let Some(o) = pending.pop_front() else { break };
            let it = items.get_mut(&o.item).expect("every order names a known item");
            if it.stock >= o.qty {
                it.stock -= o.qty;
                it.sold += u64::from(o.qty);
                sum = sum.wrapping_add(u64::from(it.price) * u64::from(o.qty));
                if it.stock < 3 {
                    restock.push(Reverse((tick + 50 + (r >> 40) % 50, o.item.clone())));
                }
            } else if tick - o.tick < 200 {
                pending.push_back(o);
            } else {
                flagged.insert(o.item);
            }
        }
        // deliveries due now
        while let Some(Reverse((due, _))) = restock.peek() {
            if *due > tick {
                break;
            }
            let Reverse((_, n)) = restock.pop().expect("peeked");
            let it = items.get_mut(&n).expect("restocked items exist");
            it.stock += 25;
            // a price change moves the item in the price index
            by_price.remove(&(it.price, n.clone()));
            it.price = it.price * 21 / 20 + 1;
            by_price.insert((it.price, n), ());
        }
        if tick % 1000 == 999 {
            // a report: the ten cheapest and the ten most expensive items
            let cheap: u64 = by_price.keys().take(10).map(|(p, _)| u64::from(*p)).sum();
            let dear: u64 = by_price.keys().rev().take(10).map(|(p, n)| u64::from(*p) ^ n.len() as u64).sum();
            let line = format!("{tick}:{cheap}:{dear}:{}", pending.len());
            sum = sum.wrapping_mul(31).wrapping_add(line.bytes().map(u64::from).sum::<u64>());
        }
    }
    let mut best: Vec<(&String, &Item)> = items.iter().collect();
    best.sort_by(|a, b| b.1.sold.cmp(&a.1.sold).then(a.0.cmp(b.0)));
    for (n, it) in best.iter().take(50) {
        sum = sum.wrapping_mul(31).wrapping_add(it.sold + n.len() as u64 + u64::from(it.stock));
    }
    let mut fl: Vec<&String> = flagged.iter().collect();
    fl.sort();
    sum = sum.wrapping_mul(31).wrapping_add(fl.len() as u64);
    if let Some(first) = fl.first() {
        sum = sum.wrapping_add(first.len() as u64);
    }
    println!("checksum: {sum}");
}
