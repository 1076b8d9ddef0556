/* SPDX-License-Identifier: (GPL-2.0 OR MIT) */
/*
 * The records rearview's BPF programs write to the ring buffer, shared by the kernel side
 * (bpf/rearview.bpf.c) and user space (Sources/Recorder through the CBPF module).
 *
 * Every record starts with `struct rv_header`; `header.type` says which record follows and
 * `header.size` how many bytes it has in all. Strings are not NUL-terminated: each record gives their
 * lengths and they follow the fixed part back to back, in the order the record's fields list them.
 * Only fixed-width fields, explicitly padded; sizes and offsets are asserted below and, in user
 * space, by Tests/RecorderTests (MemoryLayout).
 */
#ifndef REARVIEW_EVENT_H
#define REARVIEW_EVENT_H

#ifndef __bpf__
#include <linux/types.h>
#endif

/* Limits. Longer values are cut and the record says so (RV_TRUNCATED_*). */
#define RV_COMM_LEN 16
#define RV_PATH_MAX 4096            /* bytes of one path, the longest path Linux resolves */
#define RV_ARGV_MAX 8192            /* bytes of an exec's argv, NUL-separated */
#define RV_FAILED_EXEC_ARGS 32      /* arguments kept of an exec that failed */
#define RV_FAILED_EXEC_ARG_MAX 256  /* bytes kept of each of them */
#define RV_TTY_MAX 64
#define RV_CGROUP_PATH_MAX 1024
#define RV_SUN_PATH_MAX 108
#define RV_IGNORE_PREFIXES 8        /* --ignore-path prefixes filtered in the kernel */
#define RV_IGNORE_PREFIX_MAX 64     /* bytes of each */
#define RV_RECORD_MAX 32768         /* largest record */

/* What an event is about; the unit of selection, drop counting and statistics. */
enum rv_kind {
    RV_KIND_PROCESS = 0,
    RV_KIND_FILE = 1,
    RV_KIND_NETWORK = 2,
    RV_KIND_COUNT = 3,
};

enum rv_record_type {
    RV_RECORD_FORK = 1,
    RV_RECORD_EXEC = 2,
    RV_RECORD_EXIT = 3,
    RV_RECORD_EXEC_FAILED = 4,
    RV_RECORD_FILE = 5,
    RV_RECORD_SOCKET = 6,
    RV_RECORD_ADDRESS = 7,
    RV_RECORD_LISTEN = 8,
    RV_RECORD_TCP_CONNECT = 9,
};

/* The system calls rearview records, numbered independently of the architecture. */
enum rv_syscall {
    RV_SYS_NONE = 0,
    RV_SYS_OPEN = 1,
    RV_SYS_OPENAT = 2,
    RV_SYS_OPENAT2 = 3,
    RV_SYS_CREAT = 4,
    RV_SYS_UNLINK = 5,
    RV_SYS_UNLINKAT = 6,
    RV_SYS_RMDIR = 7,
    RV_SYS_RENAME = 8,
    RV_SYS_RENAMEAT = 9,
    RV_SYS_RENAMEAT2 = 10,
    RV_SYS_CHMOD = 11,
    RV_SYS_FCHMODAT = 12,
    RV_SYS_FCHMODAT2 = 13,
    RV_SYS_SOCKET = 14,
    RV_SYS_CONNECT = 15,
    RV_SYS_ACCEPT = 16,
    RV_SYS_ACCEPT4 = 17,
    RV_SYS_BIND = 18,
    RV_SYS_LISTEN = 19,
    RV_SYS_EXECVE = 20,
    RV_SYS_EXECVEAT = 21,
    RV_SYS_COUNT = 22,
};

/* rv_exec_record.flags, rv_exec_failed_record.flags, rv_file_record.path_flags */
#define RV_TRUNCATED_ARGV 0x1
#define RV_TRUNCATED_PATH 0x2

/* Who and when, for every record. */
struct rv_header {
    __u64 boot_ns;      /* CLOCK_BOOTTIME */
    __u64 cgroup_id;    /* cgroup v2 id of the task */
    __u32 type;         /* enum rv_record_type */
    __u32 size;         /* bytes of the whole record */
    __u32 tgid;         /* host pid */
    __u32 tid;          /* host thread id */
    __u32 ppid;         /* host pid of the real parent */
    __u32 ns_pid;       /* pid in the task's own pid namespace */
    __u32 ns_ppid;      /* parent's pid in that namespace, 0 when the parent is outside it */
    __u32 uid;
    __u32 gid;
    __u32 mnt_ns;       /* mount namespace inode */
    __u32 pid_ns;       /* pid namespace inode */
    __u32 pad;
    __u8 comm[RV_COMM_LEN];
};

/* A new process (not a thread); the header describes the child. */
struct rv_fork_record {
    struct rv_header header;
    __u32 parent_tgid;  /* the process that called fork/clone (ppid differs with CLONE_PARENT) */
    __u32 pad;
};

/* A successful exec. Strings: filename (as passed to exec), exe (absolute), argv, cwd, tty, cgroup. */
struct rv_exec_record {
    struct rv_header header;
    __u16 filename_len;
    __u16 exe_len;
    __u16 argv_len;
    __u16 cwd_len;
    __u16 tty_len;
    __u16 cgroup_len;   /* cgroup v2 path, or the first non-root v1 path on hybrid hosts */
    __u16 flags;        /* RV_TRUNCATED_* */
    __u16 pad;
};

/* The last thread of a process ended. */
struct rv_exit_record {
    struct rv_header header;
    __s32 status;       /* wait status: exit code << 8, or signal | 0x80 if it dumped core */
    __u32 pad;
};

/* An execve/execveat that failed. Strings: filename (absolute when it could be), argv. */
struct rv_exec_failed_record {
    struct rv_header header;
    __s64 ret;          /* -errno */
    __u16 syscall;      /* enum rv_syscall */
    __u16 filename_len;
    __u16 argv_len;
    __u16 flags;        /* RV_TRUNCATED_* */
};

/*
 * open/openat/openat2/creat, unlink/unlinkat/rmdir, rename*, chmod/fchmodat*. Strings: path,
 * new_path, each as the program passed it, made absolute with the path of dirfd or of the working
 * directory (not normalized: "/a/./b/../c" stays so; user space cleans it up).
 */
struct rv_file_record {
    struct rv_header header;
    __s64 ret;          /* fd or 0, or -errno */
    __s32 dirfd;        /* as passed (AT_FDCWD = -100); -100 for the syscalls without one */
    __u32 flags;        /* open flags, unlinkat/renameat2/fchmodat2 flags */
    __u32 mode;         /* open mode, chmod mode */
    __u16 syscall;      /* enum rv_syscall */
    __u16 path_flags;   /* RV_TRUNCATED_PATH */
    __u16 path_len;
    __u16 new_path_len; /* rename's destination */
    __u32 pad;
};

/* socket() */
struct rv_socket_record {
    struct rv_header header;
    __s64 ret;          /* new fd, or -errno */
    __s32 domain;
    __s32 type;
    __s32 protocol;
    __u16 syscall;
    __u16 pad;
};

/*
 * connect/bind (the address passed) and accept/accept4 (the peer). String: sun_path bytes for
 * AF_UNIX (an abstract name starts with a NUL byte).
 * Also, as RV_RECORD_TCP_CONNECT, the outcome of a TCP connect (also a non-blocking one): the
 * header of the task that called connect, the time the handshake ended, the remote address, and
 * ret 0 (established) or -errno (refused, timed out); fd -1 and syscall RV_SYS_NONE.
 */
struct rv_address_record {
    struct rv_header header;
    __s64 ret;          /* 0 or new fd, or -errno */
    __s32 fd;
    __u16 syscall;
    __u16 family;
    __u16 port;         /* host byte order */
    __u16 path_len;
    __u32 pad;
    __u8 addr[16];      /* IPv4 in the first 4 bytes, or IPv6; network byte order */
};

/* listen() */
struct rv_listen_record {
    struct rv_header header;
    __s64 ret;
    __s32 fd;
    __s32 backlog;
    __u16 syscall;
    __u16 pad[3];
};

/* Set by user space before the programs are loaded (the .rodata.config section). */
struct rv_config {
    __u32 self_tgid;        /* rearview's own pid: its activity is not recorded */
    __u32 kinds;            /* bit (1 << rv_kind) per recorded kind */
    __u32 wakeup_bytes;     /* wake the reader once this many bytes wait; else it drains on a timer */
    __u32 ignore_count;
    __u8 ignore_len[RV_IGNORE_PREFIXES];
    __u8 ignore_prefix[RV_IGNORE_PREFIXES][RV_IGNORE_PREFIX_MAX];
};

_Static_assert(sizeof(struct rv_header) == 80, "rv_header layout");
_Static_assert(__builtin_offsetof(struct rv_header, comm) == 64, "rv_header.comm");
_Static_assert(sizeof(struct rv_fork_record) == 88, "rv_fork_record layout");
_Static_assert(sizeof(struct rv_exec_record) == 96, "rv_exec_record layout");
_Static_assert(sizeof(struct rv_exit_record) == 88, "rv_exit_record layout");
_Static_assert(sizeof(struct rv_exec_failed_record) == 96, "rv_exec_failed_record layout");
_Static_assert(sizeof(struct rv_file_record) == 112, "rv_file_record layout");
_Static_assert(sizeof(struct rv_socket_record) == 104, "rv_socket_record layout");
_Static_assert(sizeof(struct rv_address_record) == 120, "rv_address_record layout");
_Static_assert(__builtin_offsetof(struct rv_address_record, addr) == 104, "rv_address_record.addr");
_Static_assert(sizeof(struct rv_listen_record) == 104, "rv_listen_record layout");
_Static_assert(sizeof(struct rv_config) == 16 + RV_IGNORE_PREFIXES * (1 + RV_IGNORE_PREFIX_MAX), "rv_config layout");

#endif
