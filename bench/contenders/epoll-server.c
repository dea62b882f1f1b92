/*
 * The physical-limit baseline for the saturation benchmark: an echo server in C on one epoll
 * loop, one thread, upper-casing like echo-server. What it does that a Node.js server does
 * not: on each readiness of the listening socket it accepts in a loop until the kernel's queue
 * is empty (accept4 until EAGAIN), so a busy loop never leaves clients waiting in the accept
 * queue. Everything else is as plain as it gets: level-triggered epoll, one read per ready
 * socket, the echo written at once; a short write keeps the rest and waits for EPOLLOUT (and
 * stops reading meanwhile), so memory stays bounded as in echo-server.
 *
 * Usage: epoll-server PORT [BACKLOG]   (listens on 127.0.0.1; PORT 0 picks a free one)
 * Prints `listening PORT` once it listens; SIGTERM ends it. The benchmark compiles it with
 * `cc -O2` when a C compiler exists.
 */
#define _GNU_SOURCE /* accept4 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUFFER_SIZE 65536

/* What a connection could not write yet; NULL while nothing is pending. */
struct pending {
  char *bytes;
  size_t length;
};

static struct pending *pending_of; /* indexed by descriptor */
static int descriptors;

static void upper(char *bytes, ssize_t length) {
  for (ssize_t i = 0; i < length; i++)
    if (bytes[i] >= 'a' && bytes[i] <= 'z') bytes[i] -= 0x20;
}

static void forget(int epoll, int fd) {
  epoll_ctl(epoll, EPOLL_CTL_DEL, fd, NULL);
  free(pending_of[fd].bytes);
  pending_of[fd].bytes = NULL;
  close(fd);
}

/* Writes what it can; keeps the rest and switches the socket from reading to writing. */
static int send_or_keep(int epoll, int fd, const char *bytes, size_t length) {
  ssize_t sent = write(fd, bytes, length);
  if (sent < 0 && errno != EAGAIN) return -1;
  if (sent < 0) sent = 0;
  if ((size_t)sent == length) return 0;
  struct pending *rest = &pending_of[fd];
  rest->length = length - (size_t)sent;
  rest->bytes = malloc(rest->length);
  memcpy(rest->bytes, bytes + sent, rest->length);
  struct epoll_event event = {.events = EPOLLOUT, .data.fd = fd};
  epoll_ctl(epoll, EPOLL_CTL_MOD, fd, &event);
  return 0;
}

static int flush(int epoll, int fd) {
  struct pending *rest = &pending_of[fd];
  ssize_t sent = write(fd, rest->bytes, rest->length);
  if (sent < 0) return errno == EAGAIN ? 0 : -1;
  rest->length -= (size_t)sent;
  memmove(rest->bytes, rest->bytes + sent, rest->length);
  if (rest->length > 0) return 0;
  free(rest->bytes);
  rest->bytes = NULL;
  struct epoll_event event = {.events = EPOLLIN, .data.fd = fd};
  epoll_ctl(epoll, EPOLL_CTL_MOD, fd, &event);
  return 0;
}

static void accept_all(int epoll, int listener) {
  for (;;) {
    int fd = accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return; /* EAGAIN: the queue is empty (or out of descriptors: try next time) */
    if (fd >= descriptors) {
      close(fd);
      continue;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct epoll_event event = {.events = EPOLLIN, .data.fd = fd};
    epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &event);
  }
}

int main(int argc, char **argv) {
  if (argc < 2 || argc > 3) {
    fprintf(stderr, "usage: epoll-server PORT [BACKLOG]\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  descriptors = (int)sysconf(_SC_OPEN_MAX);
  pending_of = calloc((size_t)descriptors, sizeof *pending_of);
  int listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;
  setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[1]))};
  inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
  socklen_t length = sizeof address;
  if (bind(listener, (struct sockaddr *)&address, sizeof address) != 0 ||
      listen(listener, argc == 3 ? atoi(argv[2]) : 4096) != 0 ||
      getsockname(listener, (struct sockaddr *)&address, &length) != 0) {
    fprintf(stderr, "epoll-server: %s\n", strerror(errno));
    return 1;
  }
  printf("listening %d\n", ntohs(address.sin_port));
  fflush(stdout);

  int epoll = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event event = {.events = EPOLLIN, .data.fd = listener};
  epoll_ctl(epoll, EPOLL_CTL_ADD, listener, &event);
  static char buffer[BUFFER_SIZE];
  struct epoll_event events[1024];
  for (;;) {
    int ready = epoll_wait(epoll, events, 1024, -1);
    for (int e = 0; e < ready; e++) {
      int fd = events[e].data.fd;
      if (fd == listener) {
        accept_all(epoll, listener);
        continue;
      }
      if (pending_of[fd].bytes != NULL) {
        if (flush(epoll, fd) != 0) forget(epoll, fd);
        continue;
      }
      ssize_t got = read(fd, buffer, sizeof buffer);
      if (got < 0 && errno == EAGAIN) continue;
      if (got <= 0) { /* FIN (everything before it was echoed) or an error */
        forget(epoll, fd);
        continue;
      }
      upper(buffer, got);
      if (send_or_keep(epoll, fd, buffer, (size_t)got) != 0) forget(epoll, fd);
    }
  }
}
