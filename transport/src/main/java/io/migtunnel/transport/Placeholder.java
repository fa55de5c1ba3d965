package io.migtunnel.transport; final class Placeholder {}
