package io.migtunnel; final class Placeholder {}
