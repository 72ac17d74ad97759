/* arbiter/main.c — placeholder until the heartbeat lands in this session. */
#include <stdio.h>
int main(void)
{
    return 0;
}
