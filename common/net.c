/* net.c: listening, connecting, accepting and naming TCP sockets, for IPv4 and IPv6. */
#include "net.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "report.h"

/* How many connections may wait for accept(): enough for a burst of clients (500 at once in
   the stress tests) to wait instead of being refused. A number of our own, not SOMAXCONN: that
   is a constant of the C library's headers, and each has its own (4096 in recent glibc's, 128
   in musl's and macOS's). The kernel caps the backlog at a limit of its own, a setting: Linux's
   net.core.somaxconn sysctl (4096 by default since Linux 5.4, 128 before), kern.ipc.somaxconn
   on macOS and the BSDs (128 by default). 4096 asks for all that a default Linux allows. */
enum { LISTEN_BACKLOG = 4096 };

static struct addrinfo *resolve(const char *address, const char *port, int flags, char *why,
                                size_t why_size)
{
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC; /* IPv4 or IPv6, whichever the address is */
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = flags | AI_NUMERICSERV;
    struct addrinfo *list = NULL;
    int status = getaddrinfo(address, port, &hints, &list);
    if (status != 0) {
        if (status == EAI_SYSTEM)
            error_text(errno, why, why_size);
        else
            snprintf(why, why_size, "%s", gai_strerror(status));
        return NULL;
    }
    return list;
}

static int open_listening_socket(const struct addrinfo *ai)
{
    int fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
    if (fd < 0)
        return -1;
    /* Without SO_REUSEADDR a restarted server cannot bind while old connections sit in
       TIME_WAIT. It does not let two live servers share a port. */
    int on = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) < 0)
        goto error;
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0)
        goto error;
    if (listen(fd, LISTEN_BACKLOG) < 0)
        goto error;
    if (set_nonblocking(fd) < 0)
        goto error;
    if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
        goto error;
    return fd;
error:;
    int saved_errno = errno;
    close(fd);
    errno = saved_errno;
    return -1;
}

int tcp_listen(const char *address, const char *port, char *why, size_t why_size)
{
    struct addrinfo *list = resolve(address, port, AI_PASSIVE, why, why_size);
    if (list == NULL)
        return -1;
    int fd = -1;
    int last_errno = EADDRNOTAVAIL;
    for (const struct addrinfo *ai = list; ai != NULL && fd < 0; ai = ai->ai_next) {
        fd = open_listening_socket(ai);
        if (fd < 0)
            last_errno = errno;
    }
    freeaddrinfo(list); /* only after we are done with every entry of the list */
    if (fd < 0)
        error_text(last_errno, why, why_size);
    return fd;
}

static int connect_to(const struct addrinfo *ai)
{
    int fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
    if (fd < 0)
        return -1;
    int status;
    do
        status = connect(fd, ai->ai_addr, ai->ai_addrlen);
    while (status < 0 && errno == EINTR);
    if (status < 0) {
        int saved_errno = errno;
        close(fd);
        errno = saved_errno;
        return -1;
    }
    return fd;
}

int tcp_connect(const char *address, const char *port, char *why, size_t why_size)
{
    struct addrinfo *list = resolve(address, port, 0, why, why_size);
    if (list == NULL)
        return -1;
    int fd = -1;
    int last_errno = EADDRNOTAVAIL;
    for (const struct addrinfo *ai = list; ai != NULL && fd < 0; ai = ai->ai_next) {
        fd = connect_to(ai);
        if (fd < 0)
            last_errno = errno;
    }
    freeaddrinfo(list);
    if (fd < 0)
        error_text(last_errno, why, why_size);
    return fd;
}

/* Write an address as "127.0.0.1:5000", or "[::1]:5000" for IPv6. */
static int format_address(const struct sockaddr_storage *addr, socklen_t len, char *text,
                          size_t size)
{
    char host[INET6_ADDRSTRLEN];
    char port[8];
    int status = getnameinfo((const struct sockaddr *)addr, len, host, sizeof host, port,
                             sizeof port, NI_NUMERICHOST | NI_NUMERICSERV);
    if (status != 0) {
        errno = EINVAL;
        return -1;
    }
    /* IPv6 addresses contain colons, so they are bracketed before the port is added. */
    const char *format = addr->ss_family == AF_INET6 ? "[%s]:%s" : "%s:%s";
    snprintf(text, size, format, host, port);
    return 0;
}

int local_address(int fd, char *text, size_t size)
{
    struct sockaddr_storage addr;
    socklen_t len = sizeof addr;
    if (getsockname(fd, (struct sockaddr *)&addr, &len) < 0)
        return -1;
    return format_address(&addr, len, text, size);
}

int accept_client(int listen_fd, char *peer, size_t peer_size)
{
    for (;;) {
        /* accept(2) hands us the client's address with its socket: take it now. Asked later
           with getpeername(2), a client that has already reset has no address to give. */
        struct sockaddr_storage addr;
        socklen_t len = sizeof addr;
        int fd = accept(listen_fd, (struct sockaddr *)&addr, &len);
        if (fd >= 0) {
            if (format_address(&addr, len, peer, peer_size) < 0)
                snprintf(peer, peer_size, "(unknown)");
            return fd;
        }
        if (errno != EINTR && errno != ECONNABORTED)
            return -1;
    }
}

int set_nonblocking(int fd)
{
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0)
        return -1;
    return fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}
