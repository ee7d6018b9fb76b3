//! particles: a 2-D mass-spring simulation in f64 with traits and generics:
//! a cloth grid of particles joined by springs, gravity, damping, a floor
//! and a spherical obstacle, integrated with velocity Verlet. Forces are
//! trait objects (`dyn Force`), vectors a small `Copy` type with operator
//! overloading. Only + - * / and sqrt, so results are bit-identical.
//!
//! argv[1]: number of time steps (default DEFAULT_SIZE).
//! Output : "checksum: <u64>".

use std::ops::{Add, AddAssign, Mul, Sub};

const DEFAULT_SIZE: u64 = 1400;
const N: usize = 40;

#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct V2 {
    x: f64,
    y: f64,
}

impl V2 {
    fn new(x: f64, y: f64) -> V2 {
        V2 { x, y }
    }
    fn dot(self, o: V2) -> f64 {
        self.x * o.x + self.y * o.y
    }
    fn len(self) -> f64 {
        self.dot(self).sqrt()
    }
}
impl Add for V2 {
    type Output = V2;
    fn add(self, o: V2) -> V2 {
        V2::new(self.x + o.x, self.y + o.y)
    }
}
impl Sub for V2 {
    type Output = V2;
    fn sub(self, o: V2) -> V2 {
        V2::new(self.x - o.x, self.y - o.y)
    }
}
impl Mul<f64> for V2 {
    type Output = V2;
    fn mul(self, s: f64) -> V2 {
        V2::new(self.x * s, self.y * s)
    }
}
impl AddAssign for V2 {
    fn add_assign(&mut self, o: V2) {
        self.x += o.x;
        self.y += o.y;
    }
}

struct Particle {
    pos: V2,
    vel: V2,
    force: V2,
    inv_mass: f64,
}

trait Force {
    fn apply(&self, ps: &mut [Particle]);
}

struct Gravity(f64);
impl Force for Gravity {
    fn apply(&self, ps: &mut [Particle]) {
        for p in ps.iter_mut().filter(|p| p.inv_mass > 0.0) {
            p.force.y -= self.0 / p.inv_mass;
        }
    }
}

struct Drag(f64);
impl Force for Drag {
    fn apply(&self, ps: &mut [Particle]) {
        for p in ps.iter_mut() {
            let v = p.vel;
            p.force += v * (-self.0);
        }
    }
}

struct Springs {
    links: Vec<(usize, usize, f64)>,
    k: f64,
    damping: f64,
}
impl Force for Springs {
    fn apply(&self, ps: &mut [Particle]) {
        for &(a, b, rest) in &self.links {
            let d = ps[b].pos - ps[a].pos;
            let len = d.len();
            if len == 0.0 {
                continue;
            }
            let dir = d * (1.0 / len);
            let rel = (ps[b].vel - ps[a].vel).dot(dir);
            let f = dir * (self.k * (len - rest) + self.damping * rel);
            ps[a].force += f;
            ps[b].force += f * -1.0;
        }
    }
}

fn step<F: Force + ?Sized>(ps: &mut [Particle], forces: &[Box<F>], dt: f64, ball: (V2, f64)) {
    for p in ps.iter_mut() {
        p.force = V2::default();
    }
    for f in forces {
        f.apply(ps);
    }
    for p in ps.iter_mut() {
        if p.inv_mass == 0.0 {
            continue;
        }
        p.vel += p.force * (p.inv_mass * dt);
        p.pos += p.vel * dt;
        if p.pos.y < -30.0 {
            p.pos.y = -30.0;
            p.vel.y = -p.vel.y * 0.5;
        }
        let d = p.pos - ball.0;
        let l = d.len();
        if l < ball.1 && l > 0.0 {
            let n = d * (1.0 / l);
            p.pos = ball.0 + n * ball.1;
            let vn = p.vel.dot(n);
            if vn < 0.0 {
                p.vel += n * (-vn);
            }
        }
    }
}

fn main() {
    let steps: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(DEFAULT_SIZE);
    let mut ps: Vec<Particle> = (0..N * N)
        .map(|i| Particle {
            pos: V2::new((i % N) as f64 - N as f64 / 2.0, -((i / N) as f64) * 0.5),
            vel: V2::default(),
            force: V2::default(),
            // the top row is pinned
            inv_mass: if i < N && i % 6 == 0 { 0.0 } else { 1.0 },
        })
        .collect();
    let mut links = Vec::new();
    for y in 0..N {
        for x in 0..N {
            let i = y * N + x;
            if x + 1 < N {
                links.push((i, i + 1, 1.0));
            }
            if y + 1 < N {
                links.push((i, i + N, 0.5));
            }
            if x + 1 < N && y + 1 < N {
                links.push((i, i + N + 1, 1.118_033_988_749_895));
            }
        }
    }
    let forces: Vec<Box<dyn Force>> = vec![
        Box::new(Gravity(9.81)),
        Box::new(Drag(0.02)),
        Box::new(Springs { links, k: 400.0, damping: 2.0 }),
    ];
    let mut sum: u64 = 0;
    let dt = 0.002;
    for s in 0..steps {
        let t = s as f64 * dt;
        let ball = (V2::new(-5.0 + t * 2.0, -12.0), 6.0);
        step(&mut ps, &forces, dt, ball);
        if s % 50 == 49 {
            let energy: f64 = ps.iter().map(|p| p.vel.dot(p.vel) * 0.5 + p.pos.y * 9.81).sum();
            sum = sum.wrapping_mul(31).wrapping_add(energy.to_bits());
        }
    }
    for p in ps.iter().step_by(7) {
        sum = sum.wrapping_mul(31).wrapping_add(p.pos.x.to_bits() ^ p.pos.y.to_bits());
    }
    println!("checksum: {sum}");
}
