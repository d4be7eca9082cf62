/* SPDX-License-Identifier: MIT */
/* An intrusive doubly linked list (wl_list's shape) and container_of. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

struct list {
	struct list *prev, *next;
};

static inline void list_init(struct list *l)
{
	l->prev = l->next = l;
}

static inline bool list_empty(const struct list *l)
{
	return l->next == l;
}

/* Insert `e` at the tail of `l`. */
static inline void list_append(struct list *l, struct list *e)
{
	e->prev = l->prev;
	e->next = l;
	l->prev->next = e;
	l->prev = e;
}

static inline void list_remove(struct list *e)
{
	e->prev->next = e->next;
	e->next->prev = e->prev;
	list_init(e);
}

/* Iterate over the structs of type `type` linked through `member`; the body
 * may remove (and free) the current element. */
#define list_for_each_safe(pos, tmp, head, type, member)                                           \
	for (pos = container_of((head)->next, type, member),                                       \
	    tmp = container_of(pos->member.next, type, member);                                    \
	     &pos->member != (head);                                                               \
	     pos = tmp, tmp = container_of(pos->member.next, type, member))
