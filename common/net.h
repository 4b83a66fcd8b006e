/* net.h: a thin layer over the socket calls every stage makes.

   Like Redis's anet.c, these functions never exit and never print: they return -1 and either
   leave errno set or write the reason into a buffer the caller gives them. The caller decides
   what an error means. */
#ifndef NET_H
#define NET_H

#include <stddef.h>

/* Room for "[ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255]:65535" and a reason. */
enum { ADDRESS_TEXT_MAX = 64, REASON_TEXT_MAX = 256 };

/* Open a TCP socket listening on `address` and `port` (both text, as given on the command
   line; port "0" lets the kernel choose). Tries every address getaddrinfo gives until one binds.
   The socket is non-blocking, so accept() never blocks after poll() said a client was waiting
   and that client then vanished. Returns the socket, or -1 with a reason in `why`. */
int tcp_listen(const char *address, const char *port, char *why, size_t why_size);

/* Connect to `address` and `port`, trying every address getaddrinfo gives.
   Returns the socket, or -1 with a reason in `why`. */
int tcp_connect(const char *address, const char *port, char *why, size_t why_size);

/* Write the local address of a socket as "127.0.0.1:5000" or "[::1]:5000" into `text`.
   Returns 0, or -1 with errno set. */
int local_address(int fd, char *text, size_t size);

/* Accept one waiting connection, and write the client's address ("127.0.0.1:40000") into
   `peer`. Retries when interrupted by a signal (EINTR) and when the client gave up before we
   accepted it (ECONNABORTED). Returns the new socket, or -1 with errno set: EAGAIN/EWOULDBLOCK
   when nobody is waiting (another thread or process took the client), EMFILE/ENFILE when we are
   out of descriptors. */
int accept_client(int listen_fd, char *peer, size_t peer_size);

/* Make a descriptor non-blocking. Returns 0, or -1 with errno set. */
int set_nonblocking(int fd);

#endif
