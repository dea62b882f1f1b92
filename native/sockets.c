/*
 * What echo-server needs from the system that Node.js does not offer: taking the whole
 * accept queue at once, taking over a socket's descriptor, and asking the kernel when it last
 * sent a client data. Node-API only, so one build serves every Node.js line. See
 * src/server/own-sockets.ts for why.
 *
 *   acceptInto(listeningFd, fds: Int32Array) -> count
 *     Accepts until the kernel's queue is empty or `fds` is full; returns how many
 *     descriptors it wrote (non-blocking, close-on-exec). It stops quietly at the first error:
 *     EAGAIN (the queue is empty), or running out of descriptors (EMFILE/ENFILE), which libuv
 *     handles itself at the next readiness with its reserve descriptor. A connection reset
 *     while it waited in the queue (ECONNABORTED) is skipped.
 *
 *   duplicate(fd) -> new fd, or -errno
 *     A second descriptor for the same socket (close-on-exec), so that the socket outlives
 *     the libuv handle that accepted it.
 *
 *   msSinceDataSent(fd) -> milliseconds, or -1 where the kernel does not say (not Linux)
 *     How long ago the kernel last sent data on this TCP socket (TCP_INFO's
 *     tcpi_last_data_sent). Node sees bytes leave only when the kernel takes them; a slow
 *     reader may then take seconds to receive them, and the idle timeout must not call that
 *     connection idle.
 */
#define _GNU_SOURCE /* accept4 */
#define NAPI_VERSION 8
#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <sys/socket.h>
#include <unistd.h>
#ifdef __linux__
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#endif

static int accept_nonblocking(int listener) {
#ifdef __linux__
  return accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
#else
  int fd = accept(listener, NULL, NULL);
  if (fd >= 0) {
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    fcntl(fd, F_SETFD, FD_CLOEXEC);
  }
  return fd;
#endif
}

static napi_value accept_into(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  int32_t listener;
  napi_typedarray_type type;
  size_t capacity;
  void *data;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 2 ||
      napi_get_value_int32(env, argv[0], &listener) != napi_ok ||
      napi_get_typedarray_info(env, argv[1], &type, &capacity, &data, NULL, NULL) != napi_ok ||
      type != napi_int32_array) {
    napi_throw_type_error(env, NULL, "acceptInto(fd: number, fds: Int32Array)");
    return NULL;
  }
  int32_t *fds = data;
  uint32_t count = 0;
  while (count < capacity) {
    int fd = accept_nonblocking(listener);
    if (fd >= 0) {
      fds[count++] = fd;
    } else if (errno != ECONNABORTED && errno != EINTR) {
      break;
    }
  }
  napi_value result;
  napi_create_uint32(env, count, &result);
  return result;
}

static napi_value duplicate(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t fd;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 1 ||
      napi_get_value_int32(env, argv[0], &fd) != napi_ok) {
    napi_throw_type_error(env, NULL, "duplicate(fd: number)");
    return NULL;
  }
  int copy = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  napi_value result;
  napi_create_int32(env, copy >= 0 ? copy : -errno, &result);
  return result;
}

static napi_value ms_since_data_sent(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t fd;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 1 ||
      napi_get_value_int32(env, argv[0], &fd) != napi_ok) {
    napi_throw_type_error(env, NULL, "msSinceDataSent(fd: number)");
    return NULL;
  }
  int32_t ms = -1;
#ifdef __linux__
  struct tcp_info tcp;
  socklen_t length = sizeof tcp;
  if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &tcp, &length) == 0) {
    ms = tcp.tcpi_last_data_sent > INT32_MAX ? INT32_MAX : (int32_t)tcp.tcpi_last_data_sent;
  }
#endif
  napi_value result;
  napi_create_int32(env, ms, &result);
  return result;
}

NAPI_MODULE_INIT() {
  napi_value function;
  napi_create_function(env, "acceptInto", NAPI_AUTO_LENGTH, accept_into, NULL, &function);
  napi_set_named_property(env, exports, "acceptInto", function);
  napi_create_function(env, "duplicate", NAPI_AUTO_LENGTH, duplicate, NULL, &function);
  napi_set_named_property(env, exports, "duplicate", function);
  napi_create_function(env, "msSinceDataSent", NAPI_AUTO_LENGTH, ms_since_data_sent, NULL, &function);
  napi_set_named_property(env, exports, "msSinceDataSent", function);
  return exports;
}
