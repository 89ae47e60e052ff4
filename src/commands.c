/* commands.c — client commands. */
#include "roster/commands.h"

#include <stdio.h>

int commands_control(const struct cli *c, char **environ_)
{
    (void)c;
    (void)environ_;
    fprintf(stderr, "roster: the control commands arrive with the control socket\n");
    return 2;
}

int commands_health(const struct cli *c, char **environ_)
{
    (void)c;
    (void)environ_;
    return 1;
}

int commands_budget(const struct cli *c, char **environ_)
{
    (void)c;
    (void)environ_;
    return 2;
}
