/*
 * Ping-pong load for the server benchmark, in C so that the client is not what limits the run:
 * a Node.js client spends about as much CPU per message as the server it measures, so on one
 * core it saturates first and hides the server's cost. Same protocol as ping-client.ts:
 * CLIENTS connections, each sends one SIZE-byte message, waits for SIZE bytes back, sends the
 * next. Counts round trips in the measured window; prints one JSON line.
 *
 * Usage: ping-client PORT CLIENTS SIZE WARMUP_MS DURATION_MS   (connects to 127.0.0.1)
 * The benchmark compiles it with `cc -O2` when a C compiler exists.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv) {
  if (argc != 6) {
    fprintf(stderr, "usage: ping-client PORT CLIENTS SIZE WARMUP_MS DURATION_MS\n");
    return 2;
  }
  int port = atoi(argv[1]), clients = atoi(argv[2]), size = atoi(argv[3]);
  double warmup = atof(argv[4]), duration = atof(argv[5]);
  char *message = malloc(size), buffer[65536];
  for (int i = 0; i < size; i++) message[i] = "ping pong "[i % 10];
  int *pending = calloc(clients, sizeof(int));
  int epoll = epoll_create1(0);
  struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons(port)};
  inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);

  for (int i = 0; i < clients; i++) {
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    if (fd < 0 || connect(fd, (struct sockaddr *)&address, sizeof address) != 0) {
      fprintf(stderr, "ping-client: connect: %s\n", strerror(errno));
      return 1;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct epoll_event event = {.events = EPOLLIN, .data.u64 = ((unsigned long long)i << 32) | (unsigned)fd};
    epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &event);
    pending[i] = size;
    if (write(fd, message, size) != size) return 1;
  }

  long long messages = 0, errors = 0;
  double start = now_ms(), measuring_from = start + warmup, end = measuring_from + duration;
  struct epoll_event events[256];
  for (double t = start; t < end; t = now_ms()) {
    int ready = epoll_wait(epoll, events, 256, 10);
    for (int e = 0; e < ready; e++) {
      int i = (int)(events[e].data.u64 >> 32), fd = (int)(events[e].data.u64 & 0xffffffff);
      ssize_t got = read(fd, buffer, sizeof buffer);
      if (got <= 0) {
        errors++;
        epoll_ctl(epoll, EPOLL_CTL_DEL, fd, NULL);
        continue;
      }
      pending[i] -= (int)got;
      while (pending[i] <= 0) {
        if (t >= measuring_from) messages++;
        pending[i] += size;
        if (write(fd, message, size) != size) errors++;
      }
    }
  }
  printf("{\"messages\":%lld,\"seconds\":%.3f,\"errors\":%lld}\n", messages, duration / 1e3, errors);
  return 0;
}
