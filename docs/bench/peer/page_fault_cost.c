#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
double now(){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
int main(int c,char**v){size_t n=1ul<<30;int huge=atoi(v[1]);
for(int r=0;r<3;r++){
char*p=mmap(0,n+(2<<20),PROT_READ|PROT_WRITE,MAP_PRIVATE|MAP_ANONYMOUS,-1,0);
char*a=(char*)(((size_t)p+(2<<20)-1)&~((size_t)(2<<20)-1));
if(huge)madvise(a,n,MADV_HUGEPAGE);
double t=now();memset(a,1,n);double f=now()-t;
t=now();memset(a,2,n);double w=now()-t;
printf("huge=%d first touch %.3f s (%.2f GB/s), rewrite %.3f s\n",huge,f,n/f/1e9,w);
munmap(p,n+(2<<20));}
}
