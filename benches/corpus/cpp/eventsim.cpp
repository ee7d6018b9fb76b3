/*
 * eventsim: a discrete-event simulation. A generic binary-heap priority
 * queue template orders events by (time, sequence); actors are classes
 * with a virtual handle() (sources emit jobs, queues with several servers
 * and service times, a router that splits traffic, a sink collecting
 * latency statistics). Everything is integer time, so it is exact.
 *
 * argv[1]: number of jobs (default DEFAULT_SIZE).
 * Output : "checksum: <u64>".
 */
#include "rt.h"

#define DEFAULT_SIZE 400000

template <typename T, typename Less> class Heap {
    Vec<T> v_;
    Less less_;

  public:
    bool empty() const { return v_.size() == 0; }
    size_t size() const { return v_.size(); }
    void push(const T &x) {
        v_.push(x);
        size_t i = v_.size() - 1;
        while (i > 0) {
            size_t p = (i - 1) / 2;
            if (!less_(v_[i], v_[p])) break;
            T t = v_[i];
            v_[i] = v_[p];
            v_[p] = t;
            i = p;
        }
    }
    T pop() {
        T top = v_[0];
        v_[0] = v_.back();
        v_.pop();
        size_t i = 0, n = v_.size();
        for (;;) {
            size_t l = 2 * i + 1, m = i;
            if (l < n && less_(v_[l], v_[m])) m = l;
            if (l + 1 < n && less_(v_[l + 1], v_[m])) m = l + 1;
            if (m == i) break;
            T t = v_[i];
            v_[i] = v_[m];
            v_[m] = t;
            i = m;
        }
        return top;
    }
};

struct Actor;
struct Event {
    uint64_t time, seq;
    Actor *target;
    uint32_t job;
    uint64_t born;
};
struct EventLess {
    bool operator()(const Event &a, const Event &b) const { return a.time != b.time ? a.time < b.time : a.seq < b.seq; }
};

struct Sim {
    Heap<Event, EventLess> q;
    uint64_t now = 0, seq = 0;
    Rng rng{99};
    void at(uint64_t t, Actor *a, uint32_t job, uint64_t born) { q.push(Event{t, seq++, a, job, born}); }
};

struct Actor {
    Sim &sim;
    explicit Actor(Sim &s) : sim(s) {}
    virtual ~Actor() {}
    virtual void handle(const Event &e) = 0;
};

struct Sink : Actor {
    uint64_t done = 0, total_latency = 0, max_latency = 0, hist[16] = {0};
    using Actor::Actor;
    void handle(const Event &e) override {
        uint64_t lat = sim.now - e.born;
        done++;
        total_latency += lat;
        if (lat > max_latency) max_latency = lat;
        int b = 0;
        while (b < 15 && (1ull << (b + 4)) < lat) b++;
        hist[b]++;
    }
};

/* A station with k servers and a FIFO of waiting jobs; a job arriving uses a free server
   or waits; a completion (job == UINT32_MAX marker in born's high bit) frees one. */
struct Station : Actor {
    Actor *next;
    int servers, busy = 0;
    uint32_t mean;
    Vec<Event> fifo;
    size_t head = 0;
    Station(Sim &s, Actor *n, int k, uint32_t m) : Actor(s), next(n), servers(k), mean(m) {}
    void start(const Event &e) {
        busy++;
        uint64_t service = 1 + sim.rng.below(2 * mean);
        sim.at(sim.now + service, this, e.job | 0x80000000u, e.born);
    }
    void handle(const Event &e) override {
        if (e.job & 0x80000000u) { /* completion */
            busy--;
            sim.at(sim.now, next, e.job & 0x7fffffffu, e.born);
            if (head < fifo.size()) {
                Event w = fifo[head++];
                if (head == fifo.size()) {
                    fifo.clear();
                    head = 0;
                }
                start(w);
            }
        } else if (busy < servers)
            start(e);
        else
            fifo.push(e);
    }
};

struct Router : Actor {
    Actor *a, *b;
    uint32_t percent_a;
    Router(Sim &s, Actor *x, Actor *y, uint32_t p) : Actor(s), a(x), b(y), percent_a(p) {}
    void handle(const Event &e) override { sim.at(sim.now + 1, sim.rng.below(100) < percent_a ? a : b, e.job, e.born); }
};

struct Source : Actor {
    Actor *out;
    uint32_t left, gap;
    Source(Sim &s, Actor *o, uint32_t n, uint32_t g) : Actor(s), out(o), left(n), gap(g) {}
    void handle(const Event &e) override {
        sim.at(sim.now, out, e.job, sim.now);
        if (--left) sim.at(sim.now + 1 + sim.rng.below(2 * gap), this, e.job + 1, 0);
    }
};

int main(int argc, char **argv) {
    uint32_t jobs = argc > 1 ? (uint32_t)atol(argv[1]) : DEFAULT_SIZE;
    Sim sim;
    Sink sink(sim);
    Station fast(sim, &sink, 2, 9), slow(sim, &sink, 6, 40);
    Router router(sim, &fast, &slow, 70);
    Station front(sim, &router, 3, 14);
    Source src1(sim, &front, jobs / 2, 10), src2(sim, &router, jobs - jobs / 2, 12);
    sim.at(0, &src1, 0, 0);
    sim.at(5, &src2, 1u << 24, 0);
    uint64_t events = 0, maxq = 0;
    while (!sim.q.empty()) {
        Event e = sim.q.pop();
        sim.now = e.time;
        e.target->handle(e);
        events++;
        if (sim.q.size() > maxq) maxq = sim.q.size();
    }
    uint64_t sum = events;
    sum = sum * 31 + sink.done;
    sum = sum * 31 + sink.total_latency;
    sum = sum * 31 + sink.max_latency;
    sum = sum * 31 + maxq + sim.now;
    for (int b = 0; b < 16; b++) sum = sum * 31 + sink.hist[b];
    printf("checksum: %llu\n", (unsigned long long)sum);
    return 0;
}
