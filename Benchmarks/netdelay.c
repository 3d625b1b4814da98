// netdelay QUEUE DELAY_US — the delay half of a shaped link, for kernels without sch_netem.
//
// Every packet that netfilter hands to NFQUEUE number QUEUE is held for DELAY_US microseconds and then
// accepted, in arrival order (one delay for all, so order is kept). Benchmarks/coldstart.sh queues both
// directions of its veth link here with half the round-trip time each, and shapes the rate with tbf.
// Packets come whole (NFQA_CFG_F_GSO: a 64 KiB TCP segment is one packet, not 45), so the delayer keeps
// up at 1 Gbit/s on one core. If it dies, the rules' --queue-bypass lets packets through undelayed.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <libnetfilter_queue/libnetfilter_queue.h>
#include <linux/netfilter.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define HELD_MAX 65536

struct held {
  uint32_t id;
  uint64_t due;
};
static struct held held[HELD_MAX];
static unsigned head, tail;  // held[tail..head) in arrival order
static uint64_t delay_us;
static volatile sig_atomic_t stop;

static uint64_t now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000 + (uint64_t)t.tv_nsec / 1000;
}

static int on_packet(struct nfq_q_handle *q, struct nfgenmsg *m, struct nfq_data *d, void *u) {
  (void)m, (void)u;
  struct nfqnl_msg_packet_hdr *h = nfq_get_msg_packet_hdr(d);
  if (!h) return 0;
  uint32_t id = ntohl(h->packet_id);
  if (head - tail == HELD_MAX) return nfq_set_verdict(q, id, NF_ACCEPT, 0, NULL);  // full: no delay
  held[head % HELD_MAX] = (struct held){id, now_us() + delay_us};
  head++;
  return 0;
}

static void on_signal(int s) { (void)s, stop = 1; }

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: netdelay QUEUE DELAY_US\n");
    return 2;
  }
  uint16_t queue = (uint16_t)atoi(argv[1]);
  delay_us = strtoull(argv[2], NULL, 10);
  struct nfq_handle *h = nfq_open();
  if (!h) return perror("nfq_open"), 1;
  struct nfq_q_handle *q = nfq_create_queue(h, queue, on_packet, NULL);
  if (!q) return perror("nfq_create_queue"), 1;
  if (nfq_set_mode(q, NFQNL_COPY_META, 0) < 0) return perror("nfq_set_mode"), 1;
  nfq_set_queue_maxlen(q, HELD_MAX);
  nfq_set_queue_flags(q, NFQA_CFG_F_GSO, NFQA_CFG_F_GSO);
  nfnl_rcvbufsiz(nfq_nfnlh(h), 64 << 20);
  signal(SIGTERM, on_signal);
  signal(SIGINT, on_signal);
  int fd = nfq_fd(h);
  char buf[65536] __attribute__((aligned));
  fprintf(stderr, "netdelay: queue %u, %llu us\n", queue, (unsigned long long)delay_us);
  while (!stop) {
    uint64_t now = now_us();
    while (tail != head && held[tail % HELD_MAX].due <= now) {
      nfq_set_verdict(q, held[tail % HELD_MAX].id, NF_ACCEPT, 0, NULL);
      tail++;
    }
    // Until the next packet is due (ppoll: microseconds, where poll's milliseconds would distort 1 ms).
    uint64_t wait = tail == head ? 100000 : held[tail % HELD_MAX].due - now;
    struct timespec ts = {(time_t)(wait / 1000000), (long)(wait % 1000000) * 1000};
    struct pollfd p = {fd, POLLIN, 0};
    int ready = ppoll(&p, 1, &ts, NULL);
    if (ready < 0 && errno != EINTR) return perror("poll"), 1;
    if (ready > 0) {
      for (;;) {
        ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n <= 0) break;
        nfq_handle_packet(h, buf, (int)n);
      }
    }
  }
  while (tail != head) nfq_set_verdict(q, held[tail++ % HELD_MAX].id, NF_ACCEPT, 0, NULL);
  nfq_destroy_queue(q);
  nfq_close(h);
  return 0;
}
