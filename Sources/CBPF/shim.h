#ifndef REARVIEW_CBPF_SHIM_H
#define REARVIEW_CBPF_SHIM_H
#include <bpf/libbpf.h>
#include <bpf/bpf.h>
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

/* The record layouts the BPF programs write, shared with bpf/rearview.bpf.c. */
#include "../../bpf/rearview_event.h"

/* bpf_object__open_mem with the object name set (libbpf names the maps after it); NULL and errno on failure. */
static inline struct bpf_object *rv_object_open_mem(const void *bytes, size_t size, const char *name)
{
    struct bpf_object_open_opts opts;
    memset(&opts, 0, sizeof(opts));
    opts.sz = sizeof(opts);
    opts.object_name = name;
    struct bpf_object *object = bpf_object__open_mem(bytes, size, &opts);
    if (libbpf_get_error(object)) {
        errno = -(int)libbpf_get_error(object);
        return NULL;
    }
    return object;
}

/* bpf_program__attach, NULL and errno on failure (libbpf 1.1 may return an error pointer). */
static inline struct bpf_link *rv_program_attach(struct bpf_program *program)
{
    struct bpf_link *link = bpf_program__attach(program);
    if (libbpf_get_error(link)) {
        errno = -(int)libbpf_get_error(link);
        return NULL;
    }
    return link;
}

/*
 * An epoll set watching `fd` edge-triggered: ready only when the kernel wakes the readers of a BPF
 * ring buffer, not whenever data waits (libbpf's own set is level-triggered). -1 and errno on failure.
 */
static inline int rv_wakeup_watch(int fd)
{
    int set = epoll_create1(EPOLL_CLOEXEC);
    if (set < 0)
        return -1;
    struct epoll_event interest;
    memset(&interest, 0, sizeof(interest));
    interest.events = EPOLLIN | EPOLLET;
    if (epoll_ctl(set, EPOLL_CTL_ADD, fd, &interest) != 0) {
        int saved = errno;
        close(set);
        errno = saved;
        return -1;
    }
    return set;
}

/* Waits on a set from rv_wakeup_watch for up to timeout_ms; 1 if woken, 0 on timeout, -1 on error. */
static inline int rv_wakeup_wait(int set, int timeout_ms)
{
    struct epoll_event event;
    return epoll_wait(set, &event, 1, timeout_ms);
}

#endif
