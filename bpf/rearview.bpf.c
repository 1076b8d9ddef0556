// SPDX-License-Identifier: GPL-2.0
/*
 * rearview's recorder: process lifecycle (fork, exec, exit), file and network system calls, written
 * as variable-length records (bpf/rearview_event.h) to one ring buffer that user space drains on a
 * timer. Works with tp_btf and classic tracepoints only; no kprobes, fentry or LSM. Needs Linux 5.15
 * (ring buffers 5.8, bpf_get_current_task_btf 5.11, bpf_task_pt_regs 5.15) with BTF.
 *
 * System calls are recorded when they return: the arguments are still in the task's saved user
 * registers (pt_regs), the result is known, and no state has to be kept between entry and exit.
 * Two interchangeable attach points feed the same handlers: the per-syscall tracepoints
 * (tracepoint/syscalls/sys_exit_*, need tracefs) and the raw tp_btf/sys_exit that sees every system
 * call and filters by number. User space loads one or the other.
 */
#include "rearview_kernel.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "../rearview_event.h"

char LICENSE[] SEC("license") = "GPL";

#define AT_FDCWD -100
#define AF_UNIX 1
#define AF_INET 2
#define AF_INET6 10
#define EAGAIN 11
#define O_WRONLY 01
#define O_CREAT 0100
#define O_TRUNC 01000
#define SIGNAL_GROUP_EXIT 0x4

#define RV_NAME_MAX 255               /* longest file name component */
#define RV_PATH_DEPTH 64              /* components and mount crossings walked per path */
#define RV_CGROUP_DEPTH 16
#define RV_PATH_MASK (RV_PATH_MAX - 1)
#define RV_PATH_SCRATCH (2 * RV_PATH_MAX)

/* Keep a bound the compiler would otherwise fold away out of the verifier's sight. */
#define rv_barrier_var(v) asm volatile("" : "+r"(v))

const volatile struct rv_config rv_config SEC(".rodata.config") = {};

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 8 << 20); /* user space sets the size */
} rv_events SEC(".maps");

/* Records lost per kind because the ring buffer was full. */
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, RV_KIND_COUNT);
    __type(key, __u32);
    __type(value, __u64);
} rv_drops SEC(".maps");

/* 1 from a forced wakeup until the reader has drained the buffer (and cleared it). */
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u32);
} rv_wakeup_pending SEC(".maps");

struct rv_record_buffer {
    __u8 bytes[RV_RECORD_MAX];
};

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct rv_record_buffer);
} rv_record_scratch SEC(".maps");

/*
 * Paths are assembled backwards, from the last component to the root, ending at RV_PATH_MAX; the
 * second half stages names whose length is known only once copied. The write position lives in the
 * map value rather than in a register: the verifier then sees every loop iteration alike and prunes
 * them, where a precisely tracked offset would make it explore each path separately.
 */
struct rv_path_buffer {
    char bytes[RV_PATH_SCRATCH];
    __u32 off;
    __u32 truncated;
};

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct rv_path_buffer);
} rv_path_scratch SEC(".maps");

/* A system call as its exit sees it. */
struct rv_call {
    __u64 args[6];
    __u32 syscall;
    __u32 pad;
};

static __always_inline bool rv_records(__u32 kind)
{
    return rv_config.kinds & (1u << kind);
}

static __always_inline void rv_count_drop(__u32 kind)
{
    __u64 *count = bpf_map_lookup_elem(&rv_drops, &kind);
    if (count)
        __sync_fetch_and_add(count, 1);
}

/*
 * Drain on the reader's timer, unless the buffer is filling up: then wake the reader once. A wakeup
 * costs an inter-processor interrupt (in a VM, an exit to the hypervisor): one per record, while a
 * lagging reader catches up, would slow every traced system call down.
 */
static __always_inline __u64 rv_wakeup_flag(void)
{
    if (bpf_ringbuf_query(&rv_events, BPF_RB_AVAIL_DATA) <= rv_config.wakeup_bytes)
        return BPF_RB_NO_WAKEUP;
    __u32 zero = 0;
    __u32 *pending = bpf_map_lookup_elem(&rv_wakeup_pending, &zero);
    if (!pending || *pending)
        return BPF_RB_NO_WAKEUP;
    *pending = 1;
    return BPF_RB_FORCE_WAKEUP;
}

static __always_inline void rv_output(void *record, __u32 size, __u32 kind)
{
    ((struct rv_header *)record)->size = size;
    if (size > RV_RECORD_MAX)
        return;
    if (bpf_ringbuf_output(&rv_events, record, size, rv_wakeup_flag()))
        rv_count_drop(kind);
}

static __always_inline void *rv_reserve(__u32 size, __u32 kind)
{
    void *record = bpf_ringbuf_reserve(&rv_events, size, 0);
    if (!record)
        rv_count_drop(kind);
    return record;
}

static __always_inline void rv_submit(void *record, __u32 size)
{
    ((struct rv_header *)record)->size = size;
    bpf_ringbuf_submit(record, rv_wakeup_flag());
}

static __always_inline __u8 *rv_record_buffer(void)
{
    __u32 zero = 0;
    return bpf_map_lookup_elem(&rv_record_scratch, &zero);
}

static __always_inline struct rv_path_buffer *rv_path_buffer(void)
{
    __u32 zero = 0;
    return bpf_map_lookup_elem(&rv_path_scratch, &zero);
}

/*
 * The number and namespace of a struct pid at a namespace level (numbers[] is a flexible array,
 * indexed here through its address: the verifier allows no variable index into a kernel struct).
 */
static __always_inline struct upid *rv_upid(struct pid *pid, __u32 level)
{
    __u64 address = (__u64)pid;
    rv_barrier_var(address);
    return (void *)(address + bpf_core_field_offset(struct pid, numbers) + level * bpf_core_type_size(struct upid));
}

/*
 * Fills the header for `task`, the current task or a child it just forked (same creds and comm).
 * `task` is a BTF pointer (tp_btf argument or bpf_get_current_task_btf), so fields are plain loads
 * rather than bpf_probe_read calls, which cost ~50 ns each.
 */
static __always_inline void rv_fill_header(struct rv_header *header, struct task_struct *task, __u32 type)
{
    header->boot_ns = bpf_ktime_get_boot_ns();
    header->type = type;
    header->tgid = task->tgid;
    header->tid = task->pid;
    struct task_struct *parent = task->real_parent;
    header->ppid = parent->tgid;

    struct pid *pid = task->group_leader->thread_pid;
    __u32 level = pid->level;
    if (level == 0) {
        /* In the initial pid namespace, as nearly every host process is. */
        header->ns_pid = header->tgid;
        header->ns_ppid = header->ppid;
        header->pid_ns = pid->numbers[0].ns->ns.inum;
    } else {
        struct upid *own = rv_upid(pid, level);
        header->ns_pid = BPF_CORE_READ(own, nr);
        header->pid_ns = BPF_CORE_READ(own, ns, ns.inum);
        struct pid *parent_pid = parent->group_leader->thread_pid;
        header->ns_ppid = parent_pid->level >= level ? BPF_CORE_READ(rv_upid(parent_pid, level), nr) : 0;
    }

    __u64 uid_gid = bpf_get_current_uid_gid();
    header->uid = (__u32)uid_gid;
    header->gid = uid_gid >> 32;
    header->mnt_ns = task->nsproxy->mnt_ns->ns.inum;
    header->cgroup_id = task->cgroups->dfl_cgrp->kn->id;
    header->pad = 0;
    bpf_get_current_comm(header->comm, sizeof(header->comm));
}

/* Prepends "/" + name (len bytes, already clamped to RV_NAME_MAX) to the path being built. */
static __always_inline bool rv_path_prepend(struct rv_path_buffer *buf, const void *name, __u32 len)
{
    __u32 off = buf->off;
    if (off > RV_PATH_MAX || len > RV_NAME_MAX || len + 1 > off) {
        buf->truncated = 1;
        return false;
    }
    off -= len;
    bpf_probe_read_kernel(buf->bytes + (off & RV_PATH_MASK), len & RV_NAME_MAX, name);
    off -= 1;
    buf->bytes[off & RV_PATH_MASK] = '/';
    buf->off = off;
    return true;
}

/* Returns the start of the built path, with RV_PATH_TRUNCATED_BIT set when it was cut. */
#define RV_PATH_TRUNCATED_BIT 0x10000

static __always_inline int rv_path_finish(struct rv_path_buffer *buf)
{
    __u32 off = buf->off;
    if (off >= RV_PATH_MAX) {
        off = RV_PATH_MAX - 1;
        buf->bytes[off & RV_PATH_MASK] = '/';
    }
    return (off & RV_PATH_MASK) | (buf->truncated ? RV_PATH_TRUNCATED_BIT : 0);
}

/* What the path walk reads of a dentry in one go: d_parent and d_name are adjacent in every kernel. */
struct rv_dentry_link {
    __u64 parent;
    __u32 hash;
    __u32 len;
    __u64 name;
};

static __always_inline bool rv_read_dentry_link(__u64 dentry, struct rv_dentry_link *link)
{
    __u32 parent_offset = bpf_core_field_offset(struct dentry, d_parent);
    if (bpf_core_field_offset(struct dentry, d_name) == parent_offset + 8
        && bpf_core_field_offset(struct qstr, len) == 4 && bpf_core_field_offset(struct qstr, name) == 8)
        return bpf_probe_read_kernel(link, sizeof(*link), (void *)(dentry + parent_offset)) == 0;
    struct dentry *d = (void *)dentry;
    link->parent = (__u64)BPF_CORE_READ(d, d_parent);
    link->len = BPF_CORE_READ(d, d_name.len);
    link->name = (__u64)BPF_CORE_READ(d, d_name.name);
    return link->parent != 0;
}

/*
 * Builds the absolute path of (vfsmnt, dentry) in buf, walking dentries up and crossing mounts until
 * the root of the task's mount namespace: two reads per component, two more per mount crossed.
 * A global function: the verifier checks it once.
 */
__noinline int rv_dentry_path(struct rv_path_buffer *buf, __u64 vfsmnt, __u64 dentry)
{
    if (!buf)
        return 0;
    __u64 mnt_offset = bpf_core_field_offset(struct mount, mnt);
    __u64 mnt = vfsmnt - mnt_offset;
    __u64 mnt_root = (__u64)BPF_CORE_READ((struct vfsmount *)vfsmnt, mnt_root);
    bool reached_root = false;

    buf->off = RV_PATH_MAX;
    buf->truncated = 0;
#pragma clang loop unroll(disable)
    for (int i = 0; i < RV_PATH_DEPTH; i++) {
        if (dentry == mnt_root) {
            struct mount *m = (void *)mnt;
            __u64 mnt_parent = (__u64)BPF_CORE_READ(m, mnt_parent);
            if (mnt_parent == mnt || !mnt_parent) {
                reached_root = true;
                break;
            }
            dentry = (__u64)BPF_CORE_READ(m, mnt_mountpoint);
            mnt = mnt_parent;
            mnt_root = (__u64)BPF_CORE_READ((struct mount *)mnt, mnt.mnt_root);
            continue;
        }
        struct rv_dentry_link link = {};
        if (!rv_read_dentry_link(dentry, &link))
            break;
        if (!link.parent || link.parent == dentry) {
            reached_root = true;
            break;
        }
        __u32 len = link.len;
        if (len > RV_NAME_MAX)
            len = RV_NAME_MAX;
        if (!rv_path_prepend(buf, (void *)link.name, len))
            break;
        dentry = link.parent;
    }
    if (!reached_root)
        buf->truncated = 1;
    return rv_path_finish(buf);
}

static __always_inline struct kernfs_node *rv_kernfs_parent(struct kernfs_node *kn)
{
    if (bpf_core_field_exists(struct kernfs_node___615, __parent))
        return BPF_CORE_READ((struct kernfs_node___615 *)kn, __parent);
    return BPF_CORE_READ((struct kernfs_node___pre615 *)kn, parent);
}

/* Like rv_dentry_path for a cgroup's kernfs node; the root cgroup is "/". */
__noinline int rv_kernfs_path(struct rv_path_buffer *buf, __u64 kn_addr)
{
    if (!buf)
        return 0;
    struct kernfs_node *kn = (void *)kn_addr;

    buf->off = RV_PATH_MAX;
    buf->truncated = 0;
#pragma clang loop unroll(disable)
    for (int i = 0; i < RV_CGROUP_DEPTH; i++) {
        struct kernfs_node *parent = rv_kernfs_parent(kn);
        if (!parent)
            break;
        long n = bpf_probe_read_kernel_str(buf->bytes + RV_PATH_MAX, RV_NAME_MAX + 1, BPF_CORE_READ(kn, name));
        if (n <= 1 || !rv_path_prepend(buf, buf->bytes + RV_PATH_MAX, n - 1))
            break;
        kn = parent;
    }
    return rv_path_finish(buf);
}

/* Appends the path built in buf (rv_path_finish's result) to the record at off; returns its length. */
static __always_inline __u32 rv_put_built_path(__u8 *record, __u32 off, struct rv_path_buffer *buf, int built,
                                               __u16 *flags)
{
    if (built & RV_PATH_TRUNCATED_BIT)
        *flags |= RV_TRUNCATED_PATH;
    __u32 start = built & RV_PATH_MASK;
    __u32 len = RV_PATH_MAX - start;
    rv_barrier_var(len);
    if (len > RV_PATH_MAX)
        return 0;
    rv_barrier_var(off);
    if (off > RV_RECORD_MAX - RV_PATH_MAX)
        return 0;
    bpf_probe_read_kernel(record + off, len, buf->bytes + start);
    return len;
}

static __always_inline __u32 rv_put_path(__u8 *record, __u32 off, struct rv_path_buffer *buf, struct vfsmount *mnt,
                                         struct dentry *dentry, __u16 *flags)
{
    int built = rv_dentry_path(buf, (__u64)mnt, (__u64)dentry);
    return rv_put_built_path(record, off, buf, built, flags);
}

/* Appends a kernel string of at most max bytes (max a power of two); returns its length. */
static __always_inline __u32 rv_put_kernel_string(__u8 *record, __u32 off, const void *src, __u32 max)
{
    rv_barrier_var(off);
    if (off > RV_RECORD_MAX - RV_PATH_MAX)
        return 0;
    long n = bpf_probe_read_kernel_str(record + off, max, src);
    return n > 1 ? n - 1 : 0;
}

static __always_inline __u32 rv_put_user_string(__u8 *record, __u32 off, const void *src, __u32 max)
{
    rv_barrier_var(off);
    if (off > RV_RECORD_MAX - RV_PATH_MAX)
        return 0;
    long n = bpf_probe_read_user_str(record + off, max, src);
    return n > 1 ? n - 1 : 0;
}

/* The open file behind a descriptor of `task` (a BTF pointer), or 0. */
static __always_inline struct file *rv_fd_file(struct task_struct *task, int fd)
{
    struct fdtable *fdt = task->files->fdt;
    if (fd < 0 || (unsigned int)fd >= fdt->max_fds)
        return 0;
    struct file **fds = fdt->fd;
    struct file *file = 0;
    bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]);
    return file;
}

/*
 * Appends the absolute form of a path as a system call received it: an absolute name as is, a
 * relative one after the path of dirfd (or of the working directory for AT_FDCWD). The name is read
 * once, in place; a relative one is then moved behind its directory.
 */
static __always_inline __u32 rv_put_joined_path(__u8 *record, __u32 off, struct rv_path_buffer *buf, struct task_struct *task,
                                                int dirfd, const char *name, __u16 *flags)
{
    __u32 name_len = rv_put_user_string(record, off, name, RV_PATH_MAX);
    rv_barrier_var(off);
    if (name_len == 0 || off > RV_RECORD_MAX - RV_PATH_MAX || record[off] == '/')
        return name_len;

    struct path dir = {};
    if (dirfd == AT_FDCWD) {
        struct fs_struct *fs = task->fs;
        bpf_core_read(&dir, sizeof(dir), &fs->pwd);
    } else {
        struct file *file = rv_fd_file(task, dirfd);
        if (file)
            bpf_core_read(&dir, sizeof(dir), &file->f_path);
    }
    if (!dir.mnt || !dir.dentry)
        return name_len;

    /* Park the name in the buffer's second half while the directory is written in its place. */
    name_len &= RV_PATH_MASK;
    bpf_probe_read_kernel(buf->bytes + RV_PATH_MAX, name_len, record + off);
    __u32 len = rv_put_path(record, off, buf, dir.mnt, dir.dentry, flags);
    if (len > 1 && len < RV_PATH_MAX) {
        /* "/" + name, or "/dir" + "/" + name */
        __u32 slash = off + len;
        rv_barrier_var(slash);
        if (slash < RV_RECORD_MAX)
            record[slash] = '/';
        len += 1;
    }
    if (len + name_len > RV_PATH_MAX) {
        name_len = len < RV_PATH_MAX ? RV_PATH_MAX - len : 0;
        *flags |= RV_TRUNCATED_PATH;
    }
    __u32 name_off = off + len;
    rv_barrier_var(name_off);
    rv_barrier_var(name_len);
    if (name_off > RV_RECORD_MAX - RV_PATH_MAX || name_len > RV_PATH_MAX)
        return len;
    bpf_probe_read_kernel(record + name_off, name_len, buf->bytes + RV_PATH_MAX);
    return len + name_len;
}

static __always_inline bool rv_is_ignored(__u8 *record, __u32 off, __u32 len)
{
    __u32 count = rv_config.ignore_count;
    if (count > RV_IGNORE_PREFIXES)
        count = RV_IGNORE_PREFIXES;
    rv_barrier_var(off);
    if (off > RV_RECORD_MAX - RV_PATH_MAX)
        return false;
#pragma clang loop unroll(disable)
    for (__u32 i = 0; i < RV_IGNORE_PREFIXES; i++) {
        if (i >= count)
            break;
        __u32 prefix_len = rv_config.ignore_len[i];
        if (prefix_len == 0 || prefix_len > RV_IGNORE_PREFIX_MAX || prefix_len > len)
            continue;
        bool same = true;
#pragma clang loop unroll(disable)
        for (__u32 j = 0; j < RV_IGNORE_PREFIX_MAX; j++) {
            if (j >= prefix_len)
                break;
            if (record[off + j] != rv_config.ignore_prefix[i][j]) {
                same = false;
                break;
            }
        }
        if (same)
            return true;
    }
    return false;
}

/* ---- process lifecycle ---------------------------------------------------------------------- */

SEC("tp_btf/sched_process_fork")
int BPF_PROG(rv_sched_process_fork, struct task_struct *parent, struct task_struct *child)
{
    __u32 parent_tgid = parent->tgid;
    if (child->pid != child->tgid || parent_tgid == rv_config.self_tgid)
        return 0; /* a thread, or rearview's own child */
    struct rv_fork_record *record = rv_reserve(sizeof(*record), RV_KIND_PROCESS);
    if (!record)
        return 0;
    rv_fill_header(&record->header, child, RV_RECORD_FORK);
    record->parent_tgid = parent_tgid;
    record->pad = 0;
    rv_submit(record, sizeof(*record));
    return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(rv_sched_process_exec, struct task_struct *task, __u32 old_pid, struct linux_binprm *bprm)
{
    if (task->tgid == rv_config.self_tgid)
        return 0;
    __u8 *buffer = rv_record_buffer();
    struct rv_path_buffer *paths = rv_path_buffer();
    if (!buffer || !paths)
        return 0;
    struct rv_exec_record *record = (void *)buffer;
    rv_fill_header(&record->header, task, RV_RECORD_EXEC);
    __u16 flags = 0;
    __u32 off = sizeof(*record);

    __u32 len = rv_put_kernel_string(buffer, off, BPF_CORE_READ(bprm, filename), RV_PATH_MAX);
    record->filename_len = len;
    off += len;

    struct file *exe = BPF_CORE_READ(bprm, file);
    len = rv_put_path(buffer, off, paths, BPF_CORE_READ(exe, f_path.mnt), BPF_CORE_READ(exe, f_path.dentry), &flags);
    record->exe_len = len;
    off += len;

    unsigned long arg_start = task->mm->arg_start;
    unsigned long arg_end = task->mm->arg_end;
    len = 0;
    if (arg_end > arg_start) {
        unsigned long size = arg_end - arg_start;
        if (size > RV_ARGV_MAX) {
            size = RV_ARGV_MAX;
            flags |= RV_TRUNCATED_ARGV;
        }
        len = size;
        rv_barrier_var(len);
        rv_barrier_var(off);
        if (len <= RV_ARGV_MAX && off <= RV_RECORD_MAX - RV_ARGV_MAX) {
            if (bpf_probe_read_user(buffer + off, len, (void *)arg_start))
                len = 0;
        } else {
            len = 0;
        }
    }
    record->argv_len = len;
    off += len;

    len = rv_put_path(buffer, off, paths, BPF_CORE_READ(task, fs, pwd.mnt), BPF_CORE_READ(task, fs, pwd.dentry), &flags);
    record->cwd_len = len;
    off += len;

    struct tty_struct *tty = BPF_CORE_READ(task, signal, tty);
    len = 0;
    if (tty)
        len = rv_put_kernel_string(buffer, off, &tty->name, RV_TTY_MAX);
    record->tty_len = len;
    off += len;

    struct css_set *cgroups = BPF_CORE_READ(task, cgroups);
    struct kernfs_node *kn = BPF_CORE_READ(cgroups, dfl_cgrp, kn);
    if (!rv_kernfs_parent(kn)) {
        /* Root of the unified hierarchy: on a hybrid host the container lives in the v1 ones. */
        __u32 subsystems = bpf_core_field_size(cgroups->subsys) / sizeof(void *);
#pragma clang loop unroll(disable)
        for (__u32 i = 0; i < 16; i++) {
            if (i >= subsystems)
                break;
            struct cgroup_subsys_state *css = 0;
            bpf_probe_read_kernel(&css, sizeof(css), (void *)cgroups + bpf_core_field_offset(cgroups->subsys) + i * sizeof(void *));
            if (!css)
                continue;
            struct kernfs_node *v1 = BPF_CORE_READ(css, cgroup, kn);
            if (v1 && rv_kernfs_parent(v1)) {
                kn = v1;
                break;
            }
        }
    }
    __u16 cgroup_flags = 0;
    len = rv_put_built_path(buffer, off, paths, rv_kernfs_path(paths, (__u64)kn), &cgroup_flags);
    if (len > RV_CGROUP_PATH_MAX)
        len = RV_CGROUP_PATH_MAX;
    record->cgroup_len = len;
    off += len;

    record->flags = flags;
    record->pad = 0;
    rv_output(buffer, off, RV_KIND_PROCESS);
    return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(rv_sched_process_exit, struct task_struct *task)
{
    struct signal_struct *signal = task->signal;
    if (signal->live.counter != 0 || task->tgid == rv_config.self_tgid)
        return 0; /* not the last thread, or rearview itself */
    struct rv_exit_record *record = rv_reserve(sizeof(*record), RV_KIND_PROCESS);
    if (!record)
        return 0;
    rv_fill_header(&record->header, task, RV_RECORD_EXIT);
    /* As wait(2) reports it: the group's code when exit_group or a fatal signal ended it. */
    record->status = signal->flags & SIGNAL_GROUP_EXIT ? signal->group_exit_code : task->exit_code;
    record->pad = 0;
    rv_submit(record, sizeof(*record));
    return 0;
}

/* ---- TCP connect outcomes ------------------------------------------------------------------- */

#define IPPROTO_TCP 6
#define TCP_ESTABLISHED 1
#define TCP_SYN_SENT 2
#define TCP_CLOSE 7
#define ECONNABORTED 103

/* Who called connect on a socket whose handshake is in flight, by socket. */
struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 16384);
    __type(key, __u64);
    __type(value, struct rv_header);
} rv_connecting SEC(".maps");

/*
 * A connect ends in the state change SYN_SENT -> ESTABLISHED or -> CLOSE, often in softirq context
 * where the current task is unrelated: the caller is remembered when the handshake starts (in
 * connect itself), and the record is written when it ends, so that refusals and timeouts of
 * non-blocking connects are seen too.
 */
SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(rv_inet_sock_set_state, struct sock *sk, int oldstate, int newstate)
{
    if (sk->sk_protocol != IPPROTO_TCP)
        return 0;
    __u64 key = (__u64)sk;
    if (oldstate == TCP_CLOSE && newstate == TCP_SYN_SENT) {
        struct task_struct *task = bpf_get_current_task_btf();
        if (task->tgid == rv_config.self_tgid)
            return 0;
        struct rv_header header = {};
        rv_fill_header(&header, task, RV_RECORD_TCP_CONNECT);
        bpf_map_update_elem(&rv_connecting, &key, &header, BPF_ANY);
        return 0;
    }
    if (oldstate != TCP_SYN_SENT)
        return 0;
    struct rv_header *caller = bpf_map_lookup_elem(&rv_connecting, &key);
    if (!caller)
        return 0;
    struct rv_address_record *record = rv_reserve(sizeof(*record), RV_KIND_NETWORK);
    if (record) {
        record->header = *caller;
        record->header.boot_ns = bpf_ktime_get_boot_ns();
        int error = sk->sk_err;
        record->ret = newstate == TCP_ESTABLISHED ? 0 : -(error ? error : ECONNABORTED);
        record->fd = -1;
        record->syscall = RV_SYS_NONE;
        __u16 family = sk->__sk_common.skc_family;
        record->family = family;
        record->port = __builtin_bswap16(sk->__sk_common.skc_dport);
        record->path_len = 0;
        record->pad = 0;
        __builtin_memset(record->addr, 0, sizeof(record->addr));
        if (family == AF_INET) {
            __be32 daddr = sk->__sk_common.skc_daddr;
            __builtin_memcpy(record->addr, &daddr, 4);
        } else {
            BPF_CORE_READ_INTO(&record->addr, sk, __sk_common.skc_v6_daddr.in6_u.u6_addr8);
        }
        rv_submit(record, sizeof(*record));
    }
    bpf_map_delete_elem(&rv_connecting, &key);
    return 0;
}

/* ---- system calls --------------------------------------------------------------------------- */

static __always_inline __u32 rv_syscall_kind(__u32 syscall)
{
    if (syscall >= RV_SYS_SOCKET && syscall <= RV_SYS_LISTEN)
        return RV_KIND_NETWORK;
    if (syscall >= RV_SYS_EXECVE)
        return RV_KIND_PROCESS;
    return RV_KIND_FILE;
}

/* The arguments of the current system call, from the user registers saved on entry. */
static __always_inline void rv_read_args(struct pt_regs *regs, struct rv_call *call)
{
#if defined(__TARGET_ARCH_x86)
    call->args[0] = regs->di;
    call->args[1] = regs->si;
    call->args[2] = regs->dx;
    call->args[3] = regs->r10;
    call->args[4] = regs->r8;
    call->args[5] = regs->r9;
#else
    /* arm64 returns the result in x0: the first argument survives in orig_x0. */
    call->args[0] = regs->orig_x0;
    call->args[1] = regs->regs[1];
    call->args[2] = regs->regs[2];
    call->args[3] = regs->regs[3];
    call->args[4] = regs->regs[4];
    call->args[5] = regs->regs[5];
#endif
}

/* Whether the call is to be recorded; if so, fills `call` from regs. */
static __always_inline bool rv_begin_call(__u32 syscall, struct pt_regs *regs, struct rv_call *call)
{
    if (!rv_records(rv_syscall_kind(syscall)))
        return false;
    if ((__u32)(bpf_get_current_pid_tgid() >> 32) == rv_config.self_tgid)
        return false;
    rv_read_args(regs, call);
    call->syscall = syscall;
    call->pad = 0;
    return true;
}

static __noinline int rv_file_exit(struct rv_call *call, __s64 ret)
{
    __u8 *buffer = rv_record_buffer();
    struct rv_path_buffer *paths = rv_path_buffer();
    if (!buffer || !paths)
        return 0;
    struct task_struct *task = bpf_get_current_task_btf();
    struct rv_file_record *record = (void *)buffer;
    rv_fill_header(&record->header, task, RV_RECORD_FILE);

    __u32 syscall = call->syscall;
    int dirfd = AT_FDCWD, new_dirfd = AT_FDCWD;
    const char *name = 0, *new_name = 0;
    __u32 flags = 0, mode = 0;
    switch (syscall) {
    case RV_SYS_OPEN:
        name = (void *)call->args[0];
        flags = call->args[1];
        mode = call->args[2];
        break;
    case RV_SYS_CREAT:
        name = (void *)call->args[0];
        flags = O_CREAT | O_WRONLY | O_TRUNC;
        mode = call->args[1];
        break;
    case RV_SYS_OPENAT:
        dirfd = call->args[0];
        name = (void *)call->args[1];
        flags = call->args[2];
        mode = call->args[3];
        break;
    case RV_SYS_OPENAT2: {
        /* struct open_how { __u64 flags, mode, resolve; } */
        __u64 how[2] = {};
        dirfd = call->args[0];
        name = (void *)call->args[1];
        bpf_probe_read_user(how, sizeof(how), (void *)call->args[2]);
        flags = how[0];
        mode = how[1];
        break;
    }
    case RV_SYS_UNLINK:
    case RV_SYS_RMDIR:
        name = (void *)call->args[0];
        break;
    case RV_SYS_UNLINKAT:
        dirfd = call->args[0];
        name = (void *)call->args[1];
        flags = call->args[2];
        break;
    case RV_SYS_RENAME:
        name = (void *)call->args[0];
        new_name = (void *)call->args[1];
        break;
    case RV_SYS_RENAMEAT:
    case RV_SYS_RENAMEAT2:
        dirfd = call->args[0];
        name = (void *)call->args[1];
        new_dirfd = call->args[2];
        new_name = (void *)call->args[3];
        flags = syscall == RV_SYS_RENAMEAT2 ? call->args[4] : 0;
        break;
    case RV_SYS_CHMOD:
        name = (void *)call->args[0];
        mode = call->args[1];
        break;
    case RV_SYS_FCHMODAT:
    case RV_SYS_FCHMODAT2:
        dirfd = call->args[0];
        name = (void *)call->args[1];
        mode = call->args[2];
        flags = syscall == RV_SYS_FCHMODAT2 ? call->args[3] : 0;
        break;
    default:
        return 0;
    }

    __u16 path_flags = 0;
    __u32 off = sizeof(*record);
    __u32 len = rv_put_joined_path(buffer, off, paths, task, dirfd, name, &path_flags);
    if (rv_is_ignored(buffer, off, len))
        return 0;
    record->path_len = len;
    off += len;

    len = 0;
    if (new_name)
        len = rv_put_joined_path(buffer, off, paths, task, new_dirfd, new_name, &path_flags);
    record->new_path_len = len;
    off += len;

    record->ret = ret;
    record->dirfd = dirfd;
    record->flags = flags;
    record->mode = mode;
    record->syscall = syscall;
    record->path_flags = path_flags;
    record->pad = 0;
    rv_output(buffer, off, RV_KIND_FILE);
    return 0;
}

static __noinline int rv_exec_failed_exit(struct rv_call *call, __s64 ret)
{
    __u8 *buffer = rv_record_buffer();
    struct rv_path_buffer *paths = rv_path_buffer();
    if (!buffer || !paths)
        return 0;
    struct task_struct *task = bpf_get_current_task_btf();
    struct rv_exec_failed_record *record = (void *)buffer;
    rv_fill_header(&record->header, task, RV_RECORD_EXEC_FAILED);

    bool at = call->syscall == RV_SYS_EXECVEAT;
    int dirfd = at ? (int)call->args[0] : AT_FDCWD;
    const char *name = (void *)(at ? call->args[1] : call->args[0]);
    const char *const *argv = (void *)(at ? call->args[2] : call->args[1]);
    __u16 flags = 0;
    __u32 off = sizeof(*record);
    __u32 len = rv_put_joined_path(buffer, off, paths, task, dirfd, name, &flags);
    record->filename_len = len;
    off += len;

    __u32 argv_len = 0;
#pragma clang loop unroll(disable)
    for (__u32 i = 0; i < RV_FAILED_EXEC_ARGS; i++) {
        const char *arg = 0;
        if (bpf_probe_read_user(&arg, sizeof(arg), &argv[i]) || !arg)
            break;
        __u32 at_off = off + argv_len;
        rv_barrier_var(at_off);
        if (at_off > RV_RECORD_MAX - RV_PATH_MAX)
            break;
        long n = bpf_probe_read_user_str(buffer + at_off, RV_FAILED_EXEC_ARG_MAX, arg);
        if (n <= 0)
            break;
        argv_len += n; /* keeps the NUL: arguments are NUL-separated as in an exec record */
        if (i == RV_FAILED_EXEC_ARGS - 1)
            flags |= RV_TRUNCATED_ARGV;
    }
    record->argv_len = argv_len;
    off += argv_len;

    record->ret = ret;
    record->syscall = call->syscall;
    record->flags = flags;
    rv_output(buffer, off, RV_KIND_PROCESS);
    return 0;
}

static __always_inline int rv_socket_exit(struct rv_call *call, __s64 ret)
{
    struct rv_socket_record *record = rv_reserve(sizeof(*record), RV_KIND_NETWORK);
    if (!record)
        return 0;
    rv_fill_header(&record->header, bpf_get_current_task_btf(), RV_RECORD_SOCKET);
    record->ret = ret;
    record->domain = call->args[0];
    record->type = call->args[1];
    record->protocol = call->args[2];
    record->syscall = call->syscall;
    record->pad = 0;
    rv_submit(record, sizeof(*record));
    return 0;
}

static __always_inline int rv_listen_exit(struct rv_call *call, __s64 ret)
{
    struct rv_listen_record *record = rv_reserve(sizeof(*record), RV_KIND_NETWORK);
    if (!record)
        return 0;
    rv_fill_header(&record->header, bpf_get_current_task_btf(), RV_RECORD_LISTEN);
    record->ret = ret;
    record->fd = call->args[0];
    record->backlog = call->args[1];
    record->syscall = call->syscall;
    record->pad[0] = record->pad[1] = record->pad[2] = 0;
    rv_submit(record, sizeof(*record));
    return 0;
}

/* connect/bind: the sockaddr passed in; accept: the peer of the new socket. */
static __noinline int rv_address_exit(struct rv_call *call, __s64 ret)
{
    __u32 syscall = call->syscall;
    bool accepts = syscall == RV_SYS_ACCEPT || syscall == RV_SYS_ACCEPT4;
    if (accepts && ret == -EAGAIN)
        return 0; /* a non-blocking accept that found no connection */
    __u8 *buffer = rv_record_buffer();
    if (!buffer)
        return 0;
    struct task_struct *task = bpf_get_current_task_btf();
    struct rv_address_record *record = (void *)buffer;
    rv_fill_header(&record->header, task, RV_RECORD_ADDRESS);
    __builtin_memset(record->addr, 0, sizeof(record->addr));
    record->ret = ret;
    record->fd = call->args[0];
    record->syscall = syscall;
    record->family = 0;
    record->port = 0;
    record->pad = 0;

    const void *user_addr = (void *)call->args[1];
    __u32 addr_len = call->args[2];
    if (accepts) {
        /* addrlen is in/out for accept; the kernel socket knows the peer even when addr is NULL. */
        if (user_addr && call->args[2])
            bpf_probe_read_user(&addr_len, sizeof(addr_len), (void *)call->args[2]);
        struct file *file = ret >= 0 ? rv_fd_file(task, ret) : 0;
        struct socket *sock = file ? BPF_CORE_READ(file, private_data) : 0;
        struct sock *sk = sock ? BPF_CORE_READ(sock, sk) : 0;
        if (sk) {
            __u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
            record->family = family;
            record->port = __builtin_bswap16(BPF_CORE_READ(sk, __sk_common.skc_dport));
            if (family == AF_INET) {
                __be32 daddr = BPF_CORE_READ(sk, __sk_common.skc_daddr);
                __builtin_memcpy(record->addr, &daddr, 4);
            } else if (family == AF_INET6) {
                BPF_CORE_READ_INTO(&record->addr, sk, __sk_common.skc_v6_daddr.in6_u.u6_addr8);
            }
        }
        if (record->family != AF_UNIX)
            user_addr = 0;
    }

    __u32 path_len = 0;
    if (user_addr) {
        __u16 family = 0;
        bpf_probe_read_user(&family, sizeof(family), user_addr);
        record->family = family;
        if (family == AF_INET) {
            __be16 port = 0;
            bpf_probe_read_user(&port, sizeof(port), user_addr + 2);
            record->port = __builtin_bswap16(port);
            bpf_probe_read_user(record->addr, 4, user_addr + 4);
        } else if (family == AF_INET6) {
            __be16 port = 0;
            bpf_probe_read_user(&port, sizeof(port), user_addr + 2);
            record->port = __builtin_bswap16(port);
            bpf_probe_read_user(record->addr, 16, user_addr + 8);
        } else if (family == AF_UNIX && addr_len > 2) {
            path_len = addr_len - 2;
            if (path_len > RV_SUN_PATH_MAX)
                path_len = RV_SUN_PATH_MAX;
            rv_barrier_var(path_len);
            if (path_len > RV_SUN_PATH_MAX || bpf_probe_read_user(buffer + sizeof(*record), path_len, user_addr + 2))
                path_len = 0;
        }
    }
    record->path_len = path_len;
    rv_output(buffer, sizeof(*record) + path_len, RV_KIND_NETWORK);
    return 0;
}

static __always_inline int rv_exec_exit(struct rv_call *call, __s64 ret)
{
    /* A successful exec is recorded by sched_process_exec, with more detail. */
    return ret < 0 ? rv_exec_failed_exit(call, ret) : 0;
}

/* For the raw sys_exit, which serves every system call. */
static __noinline int rv_dispatch_exit(struct rv_call *call, __s64 ret)
{
    switch (call->syscall) {
    case RV_SYS_SOCKET:
        return rv_socket_exit(call, ret);
    case RV_SYS_LISTEN:
        return rv_listen_exit(call, ret);
    case RV_SYS_CONNECT:
    case RV_SYS_BIND:
    case RV_SYS_ACCEPT:
    case RV_SYS_ACCEPT4:
        return rv_address_exit(call, ret);
    case RV_SYS_EXECVE:
    case RV_SYS_EXECVEAT:
        return rv_exec_exit(call, ret);
    default:
        return rv_file_exit(call, ret);
    }
}

/* ---- attach points: per-syscall tracepoints ------------------------------------------------- */

#define RV_SYSCALL_TRACEPOINT(name, rv, handler)                                                  \
    SEC("tracepoint/syscalls/sys_exit_" #name)                                                     \
    int rv_exit_##name(struct rv_syscall_exit_ctx *ctx)                                           \
    {                                                                                              \
        struct rv_call call;                                                                       \
        struct pt_regs *regs = (void *)bpf_task_pt_regs(bpf_get_current_task_btf());              \
        return rv_begin_call(rv, regs, &call) ? handler(&call, ctx->ret) : 0;                      \
    }

RV_SYSCALL_TRACEPOINT(open, RV_SYS_OPEN, rv_file_exit)
RV_SYSCALL_TRACEPOINT(openat, RV_SYS_OPENAT, rv_file_exit)
RV_SYSCALL_TRACEPOINT(openat2, RV_SYS_OPENAT2, rv_file_exit)
RV_SYSCALL_TRACEPOINT(creat, RV_SYS_CREAT, rv_file_exit)
RV_SYSCALL_TRACEPOINT(unlink, RV_SYS_UNLINK, rv_file_exit)
RV_SYSCALL_TRACEPOINT(unlinkat, RV_SYS_UNLINKAT, rv_file_exit)
RV_SYSCALL_TRACEPOINT(rmdir, RV_SYS_RMDIR, rv_file_exit)
RV_SYSCALL_TRACEPOINT(rename, RV_SYS_RENAME, rv_file_exit)
RV_SYSCALL_TRACEPOINT(renameat, RV_SYS_RENAMEAT, rv_file_exit)
RV_SYSCALL_TRACEPOINT(renameat2, RV_SYS_RENAMEAT2, rv_file_exit)
RV_SYSCALL_TRACEPOINT(chmod, RV_SYS_CHMOD, rv_file_exit)
RV_SYSCALL_TRACEPOINT(fchmodat, RV_SYS_FCHMODAT, rv_file_exit)
RV_SYSCALL_TRACEPOINT(fchmodat2, RV_SYS_FCHMODAT2, rv_file_exit)
RV_SYSCALL_TRACEPOINT(socket, RV_SYS_SOCKET, rv_socket_exit)
RV_SYSCALL_TRACEPOINT(connect, RV_SYS_CONNECT, rv_address_exit)
RV_SYSCALL_TRACEPOINT(accept, RV_SYS_ACCEPT, rv_address_exit)
RV_SYSCALL_TRACEPOINT(accept4, RV_SYS_ACCEPT4, rv_address_exit)
RV_SYSCALL_TRACEPOINT(bind, RV_SYS_BIND, rv_address_exit)
RV_SYSCALL_TRACEPOINT(listen, RV_SYS_LISTEN, rv_listen_exit)
RV_SYSCALL_TRACEPOINT(execve, RV_SYS_EXECVE, rv_exec_exit)
RV_SYSCALL_TRACEPOINT(execveat, RV_SYS_EXECVEAT, rv_exec_exit)

/* ---- attach point: raw sys_exit, every system call -------------------------------------------- */

/* This architecture's system call numbers, from arch/x86/entry/syscalls/syscall_64.tbl and
 * include/uapi/asm-generic/unistd.h (arm64 has no open, creat, unlink, rmdir, rename, chmod). */
static __always_inline __u32 rv_syscall_from_nr(long nr)
{
    switch (nr) {
#if defined(__TARGET_ARCH_x86)
    case 2: return RV_SYS_OPEN;
    case 257: return RV_SYS_OPENAT;
    case 437: return RV_SYS_OPENAT2;
    case 85: return RV_SYS_CREAT;
    case 87: return RV_SYS_UNLINK;
    case 263: return RV_SYS_UNLINKAT;
    case 84: return RV_SYS_RMDIR;
    case 82: return RV_SYS_RENAME;
    case 264: return RV_SYS_RENAMEAT;
    case 316: return RV_SYS_RENAMEAT2;
    case 90: return RV_SYS_CHMOD;
    case 268: return RV_SYS_FCHMODAT;
    case 452: return RV_SYS_FCHMODAT2;
    case 41: return RV_SYS_SOCKET;
    case 42: return RV_SYS_CONNECT;
    case 43: return RV_SYS_ACCEPT;
    case 288: return RV_SYS_ACCEPT4;
    case 49: return RV_SYS_BIND;
    case 50: return RV_SYS_LISTEN;
    case 59: return RV_SYS_EXECVE;
    case 322: return RV_SYS_EXECVEAT;
#elif defined(__TARGET_ARCH_arm64)
    case 56: return RV_SYS_OPENAT;
    case 437: return RV_SYS_OPENAT2;
    case 35: return RV_SYS_UNLINKAT;
    case 38: return RV_SYS_RENAMEAT;
    case 276: return RV_SYS_RENAMEAT2;
    case 53: return RV_SYS_FCHMODAT;
    case 452: return RV_SYS_FCHMODAT2;
    case 198: return RV_SYS_SOCKET;
    case 203: return RV_SYS_CONNECT;
    case 202: return RV_SYS_ACCEPT;
    case 242: return RV_SYS_ACCEPT4;
    case 200: return RV_SYS_BIND;
    case 201: return RV_SYS_LISTEN;
    case 221: return RV_SYS_EXECVE;
    case 281: return RV_SYS_EXECVEAT;
#endif
    default: return RV_SYS_NONE;
    }
}

SEC("tp_btf/sys_exit")
int BPF_PROG(rv_raw_sys_exit, struct pt_regs *regs, long ret)
{
#if defined(__TARGET_ARCH_x86)
    long nr = regs->orig_ax;
#else
    long nr = regs->syscallno;
#endif
    __u32 syscall = rv_syscall_from_nr(nr);
    struct rv_call call;
    if (syscall == RV_SYS_NONE || !rv_begin_call(syscall, regs, &call))
        return 0;
    return rv_dispatch_exit(&call, ret);
}
